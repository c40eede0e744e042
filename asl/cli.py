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
