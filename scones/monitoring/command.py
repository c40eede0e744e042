"""``scones monitor``: the Data Capture report from the command line, with an alert for CI or cron.

The command only turns options into a :class:`~scones.monitoring.reading.CaptureSource`
and arguments for :func:`~scones.monitoring.build.build_report`. S3 is reached
through the Storage that the main CLI provides as ``ctx.obj["storage"]()``
(a callable, so nothing is started when ``--from-dir`` needs no S3).
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path

import click

from scones.backend import DEFAULT_ENDPOINT
from scones.bucket_layout import endpoint_captures_uri
from scones.capture import parse_inference_time
from scones.inferences import DEFAULT_THRESHOLD
from scones.monitoring.reading import (
    DirectoryCaptures,
    NoCapturesFound,
    StorageCaptures,
    TimeWindow,
)
from scones.staged_bucket import read_class_names
from scones.s3_uri import S3Uri
from scones.storage import Storage, StorageError

DEFAULT_OUT = "scones-output/monitor"
ALERT_EXIT_CODE = 3
MALFORMED_ECHOED = 5

EPILOG = """\b
Captures are read from s3://BUCKET/data_capture/ENDPOINT/ (all variants, or
--variant), from --capture-uri, or from a local folder of .jsonl files
(--from-dir, searched recursively). Class names come from --classes, else
s3://BUCKET/classes.json when a bucket is known, else "class_0", "class_1"...

\b
Exit status:
  0  report written
  3  report written, and the share below --threshold exceeds --fail-above
     (no inference in the window never triggers it)
  1  an error: no captures found, storage unreachable, bad classes.json
  2  a usage error in the options
"""


def _time_option(ctx, param, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_inference_time(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time; write e.g. 2026-11-23T19:30:00Z (no zone means UTC)"
        ) from None


def _classes_option(ctx, param, value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(name.strip() for name in value.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise click.BadParameter(
            f"{value!r}: give distinct, non-empty names separated by commas, in the model's class order, "
            "e.g. bicycle,motorcycle"
        )
    return names


def _storage(ctx: click.Context) -> Storage:
    factory = (ctx.obj or {}).get("storage")
    if factory is None:
        raise click.ClickException(
            "no S3 storage is configured for this command; run it as `scones monitor`, or read a local "
            "folder with --from-dir PATH"
        )
    return factory()


def _capture_prefix(capture_uri: str | None, bucket: str | None, endpoint: str, variant: str | None) -> str:
    if capture_uri is not None:
        try:
            prefix = S3Uri.parse(capture_uri)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--capture-uri") from None
    elif bucket is not None:
        prefix = S3Uri.parse(endpoint_captures_uri(bucket, endpoint))
    else:
        raise click.UsageError(
            "say where the captures are: --bucket NAME (reads s3://NAME/data_capture/ENDPOINT/), "
            "--capture-uri s3://..., or --from-dir PATH"
        )
    return str(prefix.join(variant) if variant else prefix)


def _echo_summary(summary, out: Path) -> None:
    counts, files = summary.counts, summary.files
    click.echo(f"Read {files['read']:,} capture file(s) from {summary.source} "
               f"({files['skipped']:,} skipped: other variant or outside the window).")
    click.echo(f"{counts.total:,} record(s): {counts.valid:,} inference(s), {counts.malformed:,} malformed, "
               f"{counts.without_output:,} without endpointOutput; {counts.outside_window:,} outside the window.")
    for line in summary.malformed_lines[:MALFORMED_ECHOED]:
        click.echo(f"  malformed: {line.location}:{line.line_number}: {line.reason}", err=True)
    if counts.malformed > MALFORMED_ECHOED:
        click.echo(f"  … and {counts.malformed - MALFORMED_ECHOED:,} more malformed line(s), listed in the report",
                   err=True)
    if counts.valid == 0:
        click.echo("No inference with an endpointOutput in the window: the report has no figures.", err=True)
    else:
        quantiles = summary.confidence_quantiles
        click.echo(f"Below threshold {summary.threshold:g}: {summary.share_below_threshold:.1%}; top confidence "
                   f"p5 {quantiles['p5']:.4f}, median {quantiles['p50']:.4f}; "
                   f"{summary.first_inference_time} to {summary.last_inference_time}.")
    click.echo(f"Report: {out / 'report.html'} (and summary.json, PNGs)")


@click.command("monitor", epilog=EPILOG)
@click.option("--endpoint", default=DEFAULT_ENDPOINT, show_default=True, help="Endpoint whose captures to read.")
@click.option("--bucket", help="Bucket whose data_capture/ENDPOINT/ holds the captures (and classes.json); "
                                "default: the backend's bucket, as for every command.")
@click.option("--capture-uri", help="s3:// prefix of the captures; overrides --bucket/--endpoint.")
@click.option("--from-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Local folder of downloaded .jsonl captures, read recursively.")
@click.option("--variant", help="Only this production variant (e.g. AllTraffic); default all.")
@click.option("--since", callback=_time_option, help="Only inferences at or after this ISO 8601 time (UTC).")
@click.option("--until", callback=_time_option, help="Only inferences before this ISO 8601 time (UTC).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=DEFAULT_THRESHOLD, show_default=True,
              help="Top confidence an inference must reach.")
@click.option("--classes", callback=_classes_option, help="Class names in model order, e.g. bicycle,motorcycle.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT, show_default=True,
              help="Folder for report.html, summary.json and the PNGs.")
@click.option("--thumbnails", type=click.IntRange(min=0), default=0, show_default=True,
              help="Embed thumbnails of the N least confident captured images.")
@click.option("--bucket-minutes", type=click.IntRange(min=1),
              help="Width of the time buckets in minutes; default chosen from the time range.")
@click.option("--fail-above", type=click.FloatRange(0, 1),
              help=f"Exit {ALERT_EXIT_CODE} when the share below --threshold exceeds this (0.2 = 20%).")
@click.option("--publish-metrics", is_flag=True,
              help="AWS: put the share below --threshold as CloudWatch metric Scones/LowConfidenceShare, with an "
                   "alarm above --fail-above (default 0.2).")
@click.pass_context
def monitor_command(ctx: click.Context, endpoint, bucket, capture_uri, from_dir, variant, since, until, threshold,
                    classes, out, thumbnails, bucket_minutes, fail_above, publish_metrics):
    """Report on an endpoint's Data Capture: confidence over time, its distribution, low-confidence alerts."""
    # Imported here so that `scones --help` and the other commands do not load matplotlib.
    from scones.monitoring.build import build_report

    if from_dir is not None and capture_uri is not None:
        raise click.UsageError("--from-dir and --capture-uri both say where the captures are; pass one")
    try:
        window = TimeWindow(since, until)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    storage = functools.cache(lambda: _storage(ctx))  # asked for once, and only when S3 is needed
    if from_dir is None and capture_uri is None and bucket is None and "bucket" in (ctx.obj or {}):
        bucket = ctx.obj["bucket"]()  # like every other command: the backend's bucket
    try:
        if from_dir is not None:
            source = DirectoryCaptures(from_dir)
        else:
            source = StorageCaptures(storage(), _capture_prefix(capture_uri, bucket, endpoint, variant))
        classes_bucket = bucket or (S3Uri.parse(capture_uri).bucket if capture_uri else None)
        if classes is None and classes_bucket is not None:
            classes = read_class_names(storage(), classes_bucket)
        summary = build_report(source, out_dir=out, class_names=classes, threshold=threshold, window=window,
                               variant=variant, thumbnails=thumbnails, bucket_minutes=bucket_minutes,
                               fail_above=fail_above)
    except (NoCapturesFound, StorageError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    _echo_summary(summary, out)
    if publish_metrics:
        if "backend" not in (ctx.obj or {}):
            raise click.UsageError("--publish-metrics needs a backend: run it as `scones monitor --backend aws`")
        alarm = ctx.obj["backend"]().publish_low_confidence_share(endpoint, summary.share_below_threshold,
                                                                  fail_above=fail_above)
        click.echo(f"published {summary.share_below_threshold:.1%} as Scones/LowConfidenceShare "
                   f"(EndpointName={endpoint}); alarm {alarm}")
    if summary.alert.triggered:
        click.echo(f"ALERT: {summary.share_below_threshold:.1%} of inferences are below {threshold:g}, "
                   f"above --fail-above {fail_above:g}", err=True)
        ctx.exit(ALERT_EXIT_CODE)
