"""``scones asl …``: command-line access to the interpreter.

``asl_group`` is registered by the main CLI as ``scones asl``; today it has
``validate``, which checks a definition the way CreateStateMachine would and
prints every problem with its location.
"""

from __future__ import annotations

import sys

import click

from .definition import DefinitionLoadError, SubstitutionError, load, substitute
from .validation import validate

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
    import json
    from pathlib import Path

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
