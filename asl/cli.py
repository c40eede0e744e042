"""``scones asl …``: command-line access to the interpreter.

``asl_group`` is registered by the main CLI as ``scones asl``:

- ``validate`` checks a definition the way CreateStateMachine would and
  prints every problem with its location;
- ``run`` executes a definition, its Task states answered from a Step
  Functions Local mock file's test case (time is simulated: retries and
  Wait states do not really wait);
- ``test-state`` tests one state and prints what AWS's TestState returns;
- ``graph`` draws the workflow graph (SVG, PNG or an HTML page), coloured
  by an execution's history when given one.

``run`` and ``test-state`` exit 0 when the status is SUCCEEDED, 1 otherwise,
and 2 (with the reason on stderr) when the input cannot be used.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from scones import json_depth
from .clock import FakeClock
from .definition import DefinitionLoadError, SubstitutionError, load, substitute
from .execution import SUCCEEDED, execute
from .execution_input import InvalidExecutionInput
from .mock_config import MockConfigError
from .single_state import INSPECTION_LEVELS, TestStateError, test_state
from .validation import DefinitionError, validate

asl_group = click.Group("asl", help="Work with Amazon States Language definitions.")


def _parse_substitution(_ctx, _param, values: tuple[str, ...]) -> dict[str, str]:
    substitutions = {}
    for item in values:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise click.BadParameter(f"'{item}' is not NAME=VALUE")
        substitutions[name] = value
    return substitutions


@asl_group.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--substitute", "substitutions", multiple=True, callback=_parse_substitution, metavar="NAME=VALUE",
              help="Fill a ${NAME} placeholder (repeatable), like SAM's DefinitionSubstitutions.")
def validate_command(file: str, substitutions: dict[str, str]) -> None:
    """Check FILE and print each problem as '/json/pointer: message'."""
    try:
        definition = substitute(load(file), substitutions)
    except (DefinitionLoadError, SubstitutionError) as error:
        click.echo(f"/: {error}")
        sys.exit(1)
    diagnostics = validate(definition)
    for diagnostic in diagnostics:
        click.echo(str(diagnostic))
    if diagnostics:
        sys.exit(1)
    click.echo(f"{file}: valid ({len(definition['States'])} states)")


def _json_option(_ctx, param, value: str | None):
    """A JSON value given inline or as @FILE."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise click.BadParameter(f"cannot read {value[1:]} ({error.strerror})") from None
    try:
        return json_depth.parse(text, "the value")
    except json_depth.TooDeep as error:
        raise click.BadParameter(str(error)) from None
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON ({error.msg} at line {error.lineno} column {error.colno}); "
                                 f"pass JSON text or @FILE") from None


def _print_json(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=_timestamp))


def _timestamp(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


_REFUSED = (InvalidExecutionInput, DefinitionError, DefinitionLoadError, SubstitutionError, MockConfigError, TestStateError)


def _refuse(error: Exception) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(2)


@asl_group.command("run")
@click.argument("definition", type=click.Path(exists=True, dir_okay=False))
@click.option("--input", "input_value", callback=_json_option, default="{}", show_default=True,
              help="The execution input: JSON text or @FILE.")
@click.option("--mock-config", type=click.Path(exists=True, dir_okay=False), envvar="SFN_MOCK_CONFIG",
              help="A Step Functions Local MockConfigFile.json (default: $SFN_MOCK_CONFIG, as Step Functions Local reads it).")
@click.option("--test-case", help="The test case of the mock config to run.")
@click.option("--state-machine", help="The state machine of the mock config (when it has several).")
@click.option("--field-validation-mode", type=click.Choice(["STRICT", "PRESENT", "NONE"]), default="STRICT",
              show_default=True, help="How mocked Return values are checked against the real response shapes.")
@click.option("--history", type=click.Path(dir_okay=False, writable=True),
              help="Write the execution's history events (GetExecutionHistory's shape) to this JSON file.")
def run_command(definition, input_value, mock_config, test_case, state_machine, field_validation_mode, history) -> None:
    """Execute DEFINITION; print its output (or its error and cause)."""
    try:
        execution = execute(definition, input_value, mock_config=mock_config, test_case=test_case,
                            state_machine=state_machine, field_validation_mode=field_validation_mode, clock=FakeClock())
    except _REFUSED as error:
        _refuse(error)
    if history:
        Path(history).write_text(json.dumps({"events": execution.history}, indent=2, default=_timestamp), encoding="utf-8")
    if execution.status == SUCCEEDED:
        _print_json(execution.output_value)
        return
    _print_json({"status": execution.status, "error": execution.error, "cause": execution.cause})
    sys.exit(1)


@asl_group.command("test-state")
@click.argument("definition", type=click.Path(exists=True, dir_okay=False))
@click.argument("state", required=False)
@click.option("--input", "input_value", callback=_json_option, default="{}", show_default=True,
              help="The state's input: JSON text or @FILE.")
@click.option("--mock", callback=_json_option, help='TestState\'s mock: {"result": "..."} or {"errorOutput": {...}}.')
@click.option("--variables", callback=_json_option, help="The variables in scope: a JSON object or @FILE.")
@click.option("--context", callback=_json_option, help="The context object ($$); only with --mock.")
@click.option("--inspection-level", type=click.Choice(INSPECTION_LEVELS), default="INFO", show_default=True)
@click.option("--retrier-retry-count", type=click.IntRange(min=0), help="Retries already made by the matching retrier.")
@click.option("--error-caused-by-state", help="The inner state a mocked Map/Parallel error came from.")
def test_state_command(definition, state, input_value, mock, variables, context, inspection_level,
                       retrier_retry_count, error_caused_by_state) -> None:
    """Test STATE of the state machine DEFINITION (or DEFINITION as a lone state); print TestState's response."""
    try:
        result = test_state(definition, state, input_value, mock=mock, variables=variables, context=context,
                            inspection_level=inspection_level, retrier_retry_count=retrier_retry_count,
                            error_caused_by_state=error_caused_by_state)
    except _REFUSED as error:
        _refuse(error)
    _print_json(result)
    if result["status"] != SUCCEEDED:
        sys.exit(1)


@asl_group.command("graph")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--history", type=click.Path(exists=True, dir_okay=False),
              help="An execution's history (scones-output/histories/NAME.json or GetExecutionHistory's JSON): "
                   "colour each state by what happened to it.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The file to write: .svg, .png, or .html (a page with the SVG inline).")
def graph_command(file: str, history: str | None, out: str) -> None:
    """Draw FILE's workflow graph as the console shows it: states, Choice rules, Catch edges, Map and
    Parallel frames, Start and End."""
    from .diagram import layout
    from .diagram_drawing import FORMATS, write
    from .state_outcomes import error_notes, events_of, state_outcomes

    if Path(out).suffix.lower() not in FORMATS:
        raise click.BadParameter(f"'{out}' must end in .svg, .png or .html", param_hint="--out")
    try:
        definition = load(file)
    except DefinitionLoadError as error:
        raise click.ClickException(str(error)) from None
    diagnostics = validate(definition)
    if diagnostics:
        raise click.ClickException(f"{file} is not a valid definition:\n" + "\n".join(map(str, diagnostics)))
    outcomes = None
    if history is not None:
        try:
            outcomes = state_outcomes(events_of(json.loads(Path(history).read_text(encoding="utf-8"))))
        except (OSError, ValueError) as error:
            raise click.ClickException(f"cannot read the history {history}: {error}") from None
    write(layout(definition, error_notes(outcomes or {})), out, outcomes=outcomes, title=Path(file).name)
    click.echo(f"wrote {out}")
