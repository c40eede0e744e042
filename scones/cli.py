"""The ``scones`` command line.

``scones run`` is the whole workflow; every step also has a command of its
own. Each command takes ``--backend`` (``local`` by default) and goes through
the :class:`~scones.backend.Backend` contract or a pipeline step, so no
command asks which backend it has; the aws backend is imported only when
chosen. Messages go to stderr, results to stdout. A :class:`SconesError`
exits 1 with its one-line message, which says what to do; anything else is a
bug and shows its traceback.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import signal
import sys
import threading
import traceback
from typing import Callable
from contextlib import contextmanager
from pathlib import Path

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
from rich.table import Table

from scones import __version__
from scones.asl import DefinitionError, DefinitionLoadError, InvalidExecutionInput, SubstitutionError
from scones.asl.cli import asl_group
from scones.backend import BACKENDS, DEFAULT_BUCKET, DEFAULT_ENDPOINT, get_backend
from scones.class_names import DEFAULT_CLASSES, class_name
from scones.download import CIFAR100_URL, resolve_source
from scones.endpoint_invocation import EndpointRefusedInput
from scones.errors import NotFound, NotStaged, SconesError
from scones.inferences import DEFAULT_THRESHOLD, top_class
from scones.monitoring.command import monitor_command
from scones.pipeline import RunOptions, StepFailed, execute_test_images, run_pipeline
from scones.staged_bucket import latest_model_uri, read_class_names
from scones.terminal import console


# Tables on stdout: the terminal's width, or 140 columns when piped (rich would cut them at 80).
results = Console(width=None if sys.stdout.isatty() else 140)

# Errors whose message is the whole story: shown without a traceback. The ASL interpreter is a
# package of its own with its own errors for a definition that cannot be read or run.
USER_ERRORS = (SconesError, DefinitionError, DefinitionLoadError, InvalidExecutionInput, SubstitutionError)


class RefusedInput(click.ClickException):
    """An input refused once the command is running: one line without usage text, exit 2 like a usage error."""

    exit_code = 2


# Commands imported only when they run: the aws backend's (boto3 sessions, packaging) load with it.
LAZY_COMMANDS = {"aws": "scones.backends.aws.cli:aws_group"}


def split_names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


bucket_option = click.option(
    "--bucket", default=None, metavar="NAME",
    help=f"S3 bucket (default: {DEFAULT_BUCKET} locally, sagemaker-REGION-ACCOUNT on AWS).")
endpoint_option = click.option("--endpoint", "endpoint_name", default=DEFAULT_ENDPOINT, show_default=True,
                               help="Endpoint name.")
source_option = click.option("--source", metavar="PATH_OR_URL", default=None,
                             help=f"The CIFAR-100 python archive (default: download {CIFAR100_URL} into the cache).")
classes_option = click.option("--classes", default=",".join(DEFAULT_CLASSES), show_default=True,
                              help="Comma-separated CIFAR-100 fine label names; class ids follow this order.")
threshold_option = click.option(
    "--threshold", type=click.FloatRange(0, 1), default=None,
    help=f"Top confidence the filter Lambda requires (default: as `scones workflow set-threshold` set it, "
         f"else {DEFAULT_THRESHOLD}).")
alarm_options = [
    click.option("--alarm-failed-executions", type=click.IntRange(min=1), default=None, metavar="N",
                 help="AWS: the CloudWatch alarm on the state machine fires at N failed executions in a period "
                      "(default 1)."),
    click.option("--alarm-period", type=click.IntRange(min=10), default=None, metavar="SECONDS",
                 help="AWS: the alarms' period (default 300)."),
]


def alarm_settings(backend_name: str, failed_executions: int | None, period: int | None) -> dict:
    """The aws backend's alarm settings the user gave; refused on a backend without CloudWatch."""
    given = {"alarm_failed_executions": failed_executions, "alarm_period_seconds": period}
    given = {name: value for name, value in given.items() if value is not None}
    if given and backend_name != "aws":
        raise click.UsageError("--alarm-failed-executions and --alarm-period set CloudWatch alarms: "
                               "use them with --backend aws (locally, scones monitor --fail-above is the alarm)")
    return given


hyperparameter_options = [
    click.option("--epochs", type=click.IntRange(min=1), default=None,
                 help="Training epochs (default: the backend's; see README)."),
    click.option("-H", "--hyperparameter", "hyperparameters", multiple=True, metavar="NAME=VALUE",
                 help="Any built-in algorithm hyperparameter, e.g. -H num_layers=20 -H learning_rate=0.05."),
]


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
    return apply(options, command)


def apply(options, command):
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def open_backend(backend_name: str, endpoint_url: str | None, region: str | None, bucket: str | None = None,
                 **more):
    """The chosen backend; only the settings the user gave are passed, so each backend keeps its defaults."""
    given = {"region": region, "endpoint_url": endpoint_url, "bucket": bucket, **more}
    settings = {name: value for name, value in given.items() if value is not None}
    backend = get_backend(backend_name, **settings)
    for line in backend.describe():
        console.print(f"[bold]{backend.name}[/]: {line}")
    return backend


@contextmanager
def explained_if_ephemeral(backend):
    """A "stage/train first" error on an embedded S3 says why: the previous command's S3 ended with it."""
    try:
        yield
    except (NotStaged, NotFound) as error:
        if not backend.storage_is_ephemeral:
            raise
        raise type(error)(
            f"{error}. This command's embedded S3 started empty: the one the previous command used ended "
            "with it. Run `scones up` in another terminal (or LocalStack) to keep data between commands, "
            "or `scones run` for the whole workflow in one command."
        ) from None


def warn_if_ephemeral(backend) -> None:
    if backend.storage_is_ephemeral:
        console.print("[yellow]note[/]: the embedded S3 lives only while this command runs; "
                      "run `scones up` in another terminal to keep data between commands.")


def parse_assignments(pairs) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise click.BadParameter(f"{pair!r}: write NAME=VALUE, e.g. num_layers=20", param_hint="-H")
        values[name.strip()] = value.strip()
    return values


def overrides_from(epochs, hyperparameters) -> dict[str, str]:
    overrides = parse_assignments(hyperparameters)
    if epochs is not None:
        overrides["epochs"] = str(epochs)
    return overrides


def with_backend_storage(command: click.Command) -> click.Command:
    """Give ``command`` the backend options and ``ctx.obj`` factories of that backend's
    ``storage`` and default ``bucket``.

    The backend is opened only if the command asks for either, once, and closed when the command ends.
    ``command`` itself is left as it is (a copy is returned), so it still runs with a storage it is given.
    """
    callback = command.callback
    command = copy.copy(command)
    command.params = list(command.params)

    @functools.wraps(callback)
    def wrapped(backend_name, endpoint_url, region, **kwargs):
        ctx = click.get_current_context()
        backend = functools.cache(lambda: ctx.with_resource(open_backend(backend_name, endpoint_url, region)))
        ctx.obj = {"storage": lambda: backend().storage, "bucket": lambda: backend().bucket, "backend": backend}
        return callback(**kwargs)

    command.callback = wrapped
    return backend_options(command)


# ------------------------------------------------------------------ output


def fetch_archive(source: str | None) -> str:
    """Resolve ``--source`` to a local archive, with a download progress bar."""
    with Progress(TextColumn("downloading {task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(source or CIFAR100_URL, total=None)
        path = resolve_source(source, progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"archive: {path}")
    return str(path)


def stage_with_progress(backend, archive: str, classes: list[str]):
    """``backend.stage`` with an upload progress bar, then the images per class of each split."""
    plans = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("reading the archive and writing PNGs", total=None)

        def planned(plan):
            plans.append(plan)
            bar.update(task, description="uploading", total=len(plan.images) + len(plan.listings))

        report = backend.stage(archive, classes=classes, on_plan=planned, on_progress=lambda n: bar.advance(task, n))
    for split, counts in plans[0].counts.items():
        console.print(f"{split}: " + ", ".join(f"{count} {name}" for name, count in counts.items()))
    return report


def executions_table(rows) -> Table:
    table = Table(title="executions")
    for column in ("execution", "image", "true class", "predicted", "confidence", "status", "error"):
        table.add_column(column)
    for row in rows:
        colour = "green" if row.status == "SUCCEEDED" else "red"
        table.add_row(row.execution, row.image, row.true_class, row.predicted_class or "—",
                      "—" if row.confidence is None else f"{row.confidence:.4f}",
                      f"[{colour}]{row.status}[/]", row.error or "")
    return table


def print_executions(rows, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([row.to_json() for row in rows], indent=2))
    else:
        results.print(executions_table(rows))
    succeeded = sum(row.status == "SUCCEEDED" for row in rows)
    console.print(f"{succeeded} of {len(rows)} execution(s) succeeded")


# ---------------------------------------------------------------- commands


class LazyGroup(click.Group):
    """A group whose :data:`LAZY_COMMANDS` are imported only when listed in help or run."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS and name not in self.commands:
            module_name, _, attribute = LAZY_COMMANDS[name].partition(":")
            self.add_command(getattr(importlib.import_module(module_name), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scones")
def cli():
    """Scones: classify delivery vehicles (bicycle or motorcycle) with a
    SageMaker + Lambda + Step Functions workflow, on this machine or on AWS.

    Start with `scones run`: it stages CIFAR-100, trains, deploys an endpoint
    with Data Capture, runs the state machine, and writes a monitoring
    report, with nothing else running. Each step also has its own command.
    """


@cli.command()
@backend_options
@source_option
@classes_option
@bucket_option
def stage(backend_name, endpoint_url, region, source, classes, bucket):
    """Stage the chosen classes to s3://BUCKET/{train,test}/ as PNGs, with train.lst and test.lst.

    Objects already there with the same content are not uploaded again.
    """
    with open_backend(backend_name, endpoint_url, region, bucket) as backend:
        warn_if_ephemeral(backend)
        click.echo(stage_with_progress(backend, fetch_archive(source), split_names(classes)).summary())


@cli.command()
@backend_options
@bucket_option
@click.option("--job-name", default=None, help="Training job name (default: image-classification-TIMESTAMP).")
@click.option("--seed", type=int, default=None, help="Random seed (local backend; default: its fixed seed, 0).")
@functools.partial(apply, hyperparameter_options)
def train(backend_name, endpoint_url, region, bucket, job_name, seed, epochs, hyperparameters):
    """Train the image classifier on what `scones stage` staged.

    The model lands at s3://BUCKET/models/JOB/output/model.tar.gz, in the
    built-in algorithm's layout, whichever backend trained it.
    """
    with open_backend(backend_name, endpoint_url, region, bucket) as backend, explained_if_ephemeral(backend):
        chosen = backend.default_hyperparameters(overrides_from(epochs, hyperparameters))
        console.print("hyperparameters: " + " ".join(f"{k}={v}" for k, v in chosen.to_mapping().items()))
        outcome = backend.train(hyperparameters=chosen, job_name=job_name, seed=seed, log=console.print)
        click.echo(f"model: {outcome.model_uri}")
        click.echo(f"validation accuracy {outcome.validation_accuracy:.4f} at epoch {outcome.best_epoch}")


@cli.command()
@backend_options
@bucket_option
@endpoint_option
@click.option("--model-uri", default=None, metavar="S3_URI",
              help="The model.tar.gz to serve (default: the newest under s3://BUCKET/models/).")
@click.option("--sampling-percentage", type=click.IntRange(0, 100), default=100, show_default=True,
              help="Data Capture's InitialSamplingPercentage.")
def deploy(backend_name, endpoint_url, region, bucket, endpoint_name, model_uri, sampling_percentage):
    """Deploy a model as a real-time endpoint with Data Capture.

    Locally the endpoint is served by this command until Ctrl-C; other
    terminals find it (`scones invoke`, `scones execute`). On AWS the command
    returns once the endpoint is InService.
    """
    with open_backend(backend_name, endpoint_url, region, bucket,
                      capture_sampling_percentage=sampling_percentage) as backend:
        with explained_if_ephemeral(backend):
            model_uri = model_uri or latest_model_uri(backend.storage, backend.bucket)
        info = backend.deploy(model_uri=model_uri, endpoint_name=endpoint_name)
        click.echo(f"endpoint {info.name} serves {info.model_uri} at {info.location}")
        if info.served_by_this_process:
            console.print("serving until Ctrl-C (captures go to "
                          f"{info.capture.destination_s3_uri}/{info.name}/{info.variant}/)")
            from scones.backends.local.endpoint_records import RECORD_CHECK_SECONDS, still_recorded

            if not wait_for_interrupt(lambda: still_recorded(backend.storage, backend.bucket, info.name),
                                      every=RECORD_CHECK_SECONDS):
                console.print(f"endpoint {info.name} was deleted (`scones cleanup`): stopping")
            backend.delete_endpoint(info.name)
            console.print(f"endpoint {info.name} stopped; its captures are flushed")


def wait_for_interrupt(still_wanted: Callable[[], bool] = lambda: True, every: float = 1.0) -> bool:
    """Until Ctrl-C, SIGTERM, or ``still_wanted()`` turning False (checked ``every`` seconds); False for the last."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *args: stop.set())
    try:
        while not stop.wait(every):
            if not still_wanted():
                return False
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return True


@cli.command()
@backend_options
@bucket_option
@endpoint_option
@click.argument("image", metavar="IMAGE")
@click.option("--content-type", default="image/png", show_default=True,
              type=click.Choice(["image/png", "image/jpeg", "application/x-image"]))
def invoke(backend_name, endpoint_url, region, bucket, endpoint_name, image, content_type):
    """Classify IMAGE (a local file or an s3:// URI) with the deployed endpoint."""
    if not image.startswith("s3://") and not Path(image).is_file():
        raise click.BadParameter(f"{image}: no such file; pass a PNG or JPEG file, or an s3:// URI",
                                 param_hint="IMAGE")
    with open_backend(backend_name, endpoint_url, region, bucket) as backend:
        body = backend.storage.get(image) if image.startswith("s3://") else Path(image).read_bytes()
        try:
            probabilities = backend.invoke_endpoint(endpoint_name, body, content_type=content_type)
        except EndpointRefusedInput as error:  # the image is the bad input: a usage error (exit 2)
            raise RefusedInput(f"IMAGE {image}: {error}") from None
        best, confidence = top_class(probabilities)
        console.print(f"{class_name(read_class_names(backend.storage, backend.bucket), best)} ({confidence:.4f})")
        click.echo(json.dumps(probabilities))


@cli.command()
@backend_options
@bucket_option
@endpoint_option
@threshold_option
@click.option("--count", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many random test images to send through the state machine.")
@click.option("--seed", type=int, default=None, help="Seed for choosing the images (default: random).")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--definition", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Run your own exported state machine instead (local backend): the three functions it calls "
                   "are bound, in call order, to serializeImageData, classifyImage and filterInferences.")
@functools.partial(apply, alarm_options)
def execute(backend_name, endpoint_url, region, bucket, endpoint_name, threshold, count, seed, as_json, definition,
            alarm_failed_executions, alarm_period):
    """Run the state machine on random staged test images (the course's generate_test_case)."""
    from scones.asl import DefinitionError, load, validate

    exported = None
    if definition is not None:
        exported = load(str(definition))
        problems = validate(exported)
        if problems:  # every problem at once, before binding its functions or touching a backend
            raise DefinitionError(problems)
    alarms = alarm_settings(backend_name, alarm_failed_executions, alarm_period)
    with open_backend(backend_name, endpoint_url, region, bucket, **alarms) as backend:
        rows, _ = execute_test_images(backend, endpoint_name=endpoint_name, threshold=threshold, count=count,
                                      seed=seed, definition=exported)
        print_executions(rows, as_json)


@cli.group()
def workflow():
    """The deployed workflow's settings, changed without redeploying anything else."""


@workflow.command("set-threshold")
@backend_options
@bucket_option
@click.argument("threshold", type=click.FloatRange(0, 1))
def set_threshold(backend_name, endpoint_url, region, bucket, threshold):
    """Set the top confidence the filter Lambda requires, such as 0.9.

    Only the filter function's configuration changes (on AWS,
    UpdateFunctionConfiguration); the endpoint and the state machine stay as
    they are, and the next execution uses the new threshold.
    """
    with open_backend(backend_name, endpoint_url, region, bucket) as backend, explained_if_ephemeral(backend):
        before = backend.filter_threshold()
        backend.set_threshold(threshold)
    click.echo(f"threshold {threshold:g} (was {describe_threshold(before)})")


@workflow.command("show")
@backend_options
@bucket_option
def show_workflow(backend_name, endpoint_url, region, bucket):
    """Print the threshold the filter Lambda is configured with."""
    with open_backend(backend_name, endpoint_url, region, bucket) as backend:
        click.echo(f"threshold {describe_threshold(backend.filter_threshold())}")


def describe_threshold(configured: float | None) -> str:
    return f"{DEFAULT_THRESHOLD:g}, the default: not deployed or set yet" if configured is None else f"{configured:g}"


@cli.command()
@backend_options
@bucket_option
@endpoint_option
@threshold_option
@click.argument("source", metavar="s3://BUCKET/PREFIX/")
@click.option("--out", "out_uri", default=None, metavar="S3_URI",
              help="Where the results go (default: s3://BUCKET/batch-results/ of the source's bucket).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and failures as JSON.")
def batch(backend_name, endpoint_url, region, bucket, endpoint_name, threshold, source, out_uri, as_json):
    """Classify every image under an S3 prefix with a Distributed Map (ItemReader, ItemBatcher, ResultWriter)."""
    with open_backend(backend_name, endpoint_url, region, bucket) as backend:
        report = backend.batch(source, out_uri=out_uri, threshold=threshold, endpoint_name=endpoint_name)
        if as_json:
            click.echo(json.dumps({**report.summary, "failures": [vars(f) for f in report.failures]}, indent=2))
            return
        summary = report.summary
        classes = ", ".join(f"{name} {count}" for name, count in summary["per_class"].items()) or "none"
        click.echo(f"{summary['images']} images: {summary['classified']} classified ({classes}), "
                   f"{summary['passed']} passed the threshold {summary['threshold']}, {summary['failed']} failed")
        for failure in report.failures:
            click.echo(f"failed {failure.key}: {failure.error}: {failure.cause}")
        click.echo(f"records: {report.records_uri}")
        click.echo(f"summary: {report.summary_uri}")
        click.echo(f"manifest: {report.manifest_uri}")


@cli.command()
@backend_options
@bucket_option
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@click.option("--delete-data", is_flag=True, help="Also delete the staged data, models and captures.")
def cleanup(backend_name, endpoint_url, region, bucket, dry_run, delete_data):
    """Delete everything the workflow left running (endpoints first); data only with --delete-data."""
    with open_backend(backend_name, endpoint_url, region, bucket) as backend:
        report = backend.cleanup(dry_run=dry_run, delete_data=delete_data)
        verb = "would delete" if dry_run else "deleted"
        for item in report.deleted:
            click.echo(f"{verb} {item}")
        if not report.deleted:
            click.echo("nothing to delete")
        if report.hourly_cost_usd:
            click.echo(f"that was ${report.hourly_cost_usd:.3f}/hour of running resources")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4567, show_default=True, type=int)
@click.option("--endpoint-url", "s3_endpoint_url", default=None,
              help="An S3 (e.g. MiniStack's) for the SageMaker service's channels, models and captures "
                   "(default: the S3 served here).")
@click.option("--logs-endpoint-url", default=None,
              help="A CloudWatch Logs (e.g. MiniStack's) for training jobs' logs (default: none).")
def up(host, port, s3_endpoint_url, logs_endpoint_url):
    """Run the local S3 and a local SageMaker on one port, in the foreground until Ctrl-C.

    Step commands in other terminals find the S3 and share it, as they would
    share LocalStack; `--backend aws` reaches the SageMaker through the
    printed AWS_ENDPOINT_URL_SAGEMAKER* variables. `scones run` does not need this.
    """
    from scones.backends.local.sagemaker_api import make_local_aws_server

    server = make_local_aws_server(host, port, endpoint_url=s3_endpoint_url, logs_endpoint_url=logs_endpoint_url)
    url = f"http://{host}:{server.server_address[1]}"
    click.echo(f"S3 and SageMaker listening on {url} (Ctrl-C to stop)")
    for line in up_exports(url, s3_endpoint_url):
        click.echo(line)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        server.service.close()


def up_exports(url: str, s3_endpoint_url: str | None) -> list[str]:
    """The variables that point boto3 (and `--backend aws`) at `scones up`."""
    return [f"export AWS_ENDPOINT_URL_S3={s3_endpoint_url or url}",
            f"export AWS_ENDPOINT_URL_SAGEMAKER={url}",
            f"export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={url}"]


@cli.command()
@backend_options
@source_option
@classes_option
@bucket_option
@endpoint_option
@threshold_option
@click.option("--count", type=click.IntRange(min=1), default=20, show_default=True,
              help="State machine executions on random test images.")
@click.option("--seed", type=int, default=None,
              help="Seed for training (local backend) and for choosing the images (default: 0 for both).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("scones-output"),
              show_default=True, help="Folder for the model, captures, executions and the report.")
@click.option("--keep-endpoint", is_flag=True, help="Leave the endpoint deployed (AWS bills it by the hour).")
@functools.partial(apply, hyperparameter_options)
@functools.partial(apply, alarm_options)
def run(backend_name, endpoint_url, region, source, classes, bucket, endpoint_name, threshold, count, seed, out,
        keep_endpoint, epochs, hyperparameters, alarm_failed_executions, alarm_period):
    """Run the whole workflow: stage, train, deploy, execute, monitor, clean up."""
    from scones.monitoring.build import build_report

    overrides = overrides_from(epochs, hyperparameters)
    alarms = alarm_settings(backend_name, alarm_failed_executions, alarm_period)
    with open_backend(backend_name, endpoint_url, region, bucket, **alarms) as backend:
        backend.check_hyperparameters(overrides)  # before a download or staging
        archive = fetch_archive(source)
        options = RunOptions(archive=archive, out_dir=out, classes=split_names(classes),
                             endpoint_name=endpoint_name, executions=count, seed=seed, threshold=threshold,
                             hyperparameter_overrides=overrides, keep_endpoint=keep_endpoint)
        try:
            summary = run_pipeline(backend, options, say=console.print, build_monitor_report=build_report)
        except StepFailed as failure:
            if not isinstance(failure.reason, USER_ERRORS):  # a bug: show where
                traceback.print_exception(failure.reason, file=sys.stderr)
            console.print(f"[red]error[/]: {failure}")
            raise SystemExit(1)
    results.print(executions_table(summary.rows))
    monitor = summary.monitor
    click.echo(f"validation accuracy {summary.training.validation_accuracy:.4f}; "
               f"{sum(r.status == 'SUCCEEDED' for r in summary.rows)} of {len(summary.rows)} executions succeeded; "
               f"{monitor.share_below_threshold:.1%} of captured inferences below {summary.threshold:g}")
    click.echo(f"output: {out}/ (model.tar.gz, executions.json, captures/, monitor/report.html)")


cli.add_command(with_backend_storage(monitor_command))
cli.add_command(asl_group)


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
