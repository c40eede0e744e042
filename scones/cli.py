"""The ``scones`` command line.

``scones run`` is the whole workflow; every step also has a command of its
own. Each command takes ``--backend`` (``local`` by default). Messages go to
stderr, results to stdout, and a failure exits non-zero with a one-line
reason that says what to do.
"""

from __future__ import annotations

import functools

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from scones import __version__
from scones.backend import BACKENDS, DEFAULT_BUCKET, get_backend
from scones.cifar import CifarArchiveError, read_archive
from scones.asl.cli import asl_group
from scones.asl.validation import DefinitionError
from scones.backends.aws.cli import aws_group
from scones.backends.aws.errors import SconesAwsError
from scones.monitoring.command import monitor_command
from scones.download import CIFAR100_URL, SourceError, resolve_source
from scones.staging import DEFAULT_CLASSES, plan_stage, upload_plan
from scones.storage import StorageError

console = Console(stderr=True, highlight=False)

# Errors whose message is the whole story: shown without a traceback.
USER_ERRORS = (CifarArchiveError, SourceError, StorageError, SconesAwsError, DefinitionError, ValueError)


def split_names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


bucket_option = click.option(
    "--bucket", default=None, metavar="NAME",
    help=f"S3 bucket (default: {DEFAULT_BUCKET} locally, sagemaker-REGION-ACCOUNT on AWS).")


def backend_options(command):
    """``--backend``, ``--endpoint-url`` and ``--region``, shared by every command."""
    options = [
        click.option("--backend", "backend_name", type=click.Choice(sorted(BACKENDS)), default="local",
                     envvar="SCONES_BACKEND", show_default=True, help="Where the workflow runs."),
        click.option("--endpoint-url", default=None, metavar="URL",
                     help="S3 endpoint for the local backend (default: LocalStack if it runs, "
                          "else `scones up`, else an embedded server)."),
        click.option("--region", default=None, envvar="AWS_DEFAULT_REGION",
                     help="AWS region (default: your AWS configuration's; us-east-1 locally)."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def open_backend(backend_name: str, endpoint_url: str | None, region: str | None, bucket: str | None = None):
    """The chosen backend; only the settings the user gave are passed, so each backend keeps its defaults."""
    given = {"region": region, "endpoint_url": endpoint_url, "bucket": bucket}
    settings = {name: value for name, value in given.items() if value is not None}
    backend = get_backend(backend_name, **settings)
    for line in backend.describe():
        console.print(f"[bold]{backend.name}[/]: {line}")
    return backend


def with_backend_storage(command: click.Command) -> click.Command:
    """Give ``command`` the backend options and a ``ctx.obj["storage"]`` factory from that backend.

    The backend is opened only if the command asks for storage, and closed when the command ends.
    """
    callback = command.callback

    @functools.wraps(callback)
    def wrapped(backend_name, endpoint_url, region, **kwargs):
        ctx = click.get_current_context()
        ctx.obj = {"storage": lambda: ctx.with_resource(open_backend(backend_name, endpoint_url, region)).storage}
        return callback(**kwargs)

    command.callback = wrapped
    return backend_options(command)


def fetch_archive(source: str | None) -> str:
    """Resolve ``--source`` to a local archive, with a download progress bar."""
    with Progress(TextColumn("downloading {task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(source or CIFAR100_URL, total=None)
        path = resolve_source(source, progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"archive: {path}")
    return str(path)


def run_stage(backend, source: str | None, classes: list[str]):
    archive = fetch_archive(source)
    with console.status("reading the archive and writing PNGs…"):
        plan = plan_stage(read_archive(archive), classes)
    with Progress(TextColumn("uploading"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("upload", total=len(plan.images) + len(plan.listings))
        report = upload_plan(plan, backend.storage, backend.bucket, on_progress=lambda n: bar.advance(task, n))
    for split, counts in plan.counts.items():
        shown = ", ".join(f"{count} {name}" for name, count in counts.items())
        console.print(f"{split}: {shown}")
    click.echo(report.summary())
    return report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scones")
def cli():
    """Scones: classify delivery vehicles (bicycle or motorcycle) with a
    SageMaker + Lambda + Step Functions workflow, on this machine or on AWS.

    Start with `scones run`: it stages CIFAR-100, and runs every step on
    the local backend with nothing else running.
    """


@cli.command()
@backend_options
@click.option("--source", metavar="PATH_OR_URL", default=None,
              help=f"The CIFAR-100 python archive (default: download {CIFAR100_URL} into the cache).")
@click.option("--classes", default=",".join(DEFAULT_CLASSES), show_default=True,
              help="Comma-separated CIFAR-100 fine label names; class ids follow this order.")
@bucket_option
def stage(backend_name, endpoint_url, region, source, classes, bucket):
    """Stage the chosen classes to s3://BUCKET/{train,test}/ as PNGs, with train.lst and test.lst.

    Objects already there with the same content are not uploaded again.
    """
    with open_backend(backend_name, endpoint_url, region, bucket) as backend:
        if getattr(backend, "s3_endpoint", None) and backend.s3_endpoint.kind == "embedded":
            console.print("[yellow]note[/]: the embedded S3 lives only while this command runs; "
                          "run `scones up` in another terminal to keep data between commands.")
        run_stage(backend, source, split_names(classes))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4567, show_default=True, type=int)
def up(host, port):
    """Run the local services in the foreground until Ctrl-C.

    Step commands in other terminals find them and share one S3, as they
    would share LocalStack. `scones run` does not need this.
    """
    from scones.backends.local.s3_server import make_s3_server

    server = make_s3_server(host, port)
    click.echo(f"S3 listening on http://{host}:{server.server_address[1]} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopping")


@cli.command()
@backend_options
@click.option("--source", metavar="PATH_OR_URL", default=None,
              help=f"The CIFAR-100 python archive (default: download {CIFAR100_URL} into the cache).")
@click.option("--classes", default=",".join(DEFAULT_CLASSES), show_default=True)
@bucket_option
def run(backend_name, endpoint_url, region, source, classes, bucket):
    """Run the whole workflow: stage, train, deploy, execute, monitor, clean up."""
    with open_backend(backend_name, endpoint_url, region, bucket) as backend:
        console.rule("stage")
        run_stage(backend, source, split_names(classes))


cli.add_command(with_backend_storage(monitor_command))
cli.add_command(asl_group)
cli.add_command(aws_group)


def main() -> None:
    try:
        exit_code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        console.print("aborted")
        raise SystemExit(130)
    except click.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code)
    except USER_ERRORS as error:
        console.print(f"[red]error[/]: {error}")
        raise SystemExit(1)
    raise SystemExit(exit_code if isinstance(exit_code, int) else 0)
