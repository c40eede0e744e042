"""Benchmark `scones monitor`: a million capture records read, summarized and plotted, with peak memory.

Writes 1,000,000 Data Capture records (scones.capture's own records, JSON output
only, 10,000 to a file, laid out as SageMaker does) into a temporary folder and
100,000 into an embedded S3, then builds the report from each in a fresh
process and prints records/s, wall seconds and peak RSS. 100k and 1M from the
same folder layout show the memory staying flat: the difference is the 19
bytes per record the summary keeps.

    .venv/bin/python benchmarks/bench_monitor.py [--records 1000000] [--s3-records 100000] [--reports DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from scones.bucket_layout import capture_key, capture_prefix
from scones.capture import CaptureConfig, build_record

RECORDS_PER_FILE = 10_000
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=7)
CONFIG = CaptureConfig("s3://bench/data_capture", capture_input=False)  # JSON output only
CLASSES = ("bicycle", "motorcycle")


def capture_files(first: int, count: int, total: int, seed: int):
    """(key under data_capture/, JSON Lines bytes) for records ``first`` … ``first + count`` of ``total``."""
    rng = np.random.default_rng(seed)
    step = SPAN / total
    for start in range(first, first + count, RECORDS_PER_FILE):
        size = min(RECORDS_PER_FILE, first + count - start)
        confidence = 1 - rng.beta(1.2, 14, size) * 0.5  # mostly sure, a tail of doubt
        motorcycle = rng.random(size) < 0.45
        lines = []
        for i in range(size):
            top = float(confidence[i])
            probabilities = [1 - top, top] if motorcycle[i] else [top, 1 - top]
            record = build_record(config=CONFIG, event_id=str(uuid.UUID(int=start + i)),
                                  inference_time=START + step * (start + i), request_body=b"",
                                  request_content_type="image/png",
                                  response_body=json.dumps(probabilities).encode(),
                                  response_content_type="application/json")
            lines.append(record.to_line())
        opened = START + step * start
        key = capture_key(capture_prefix("s3://bench/data_capture", "scones-endpoint", "AllTraffic"), opened,
                          str(uuid.UUID(int=start))).key
        yield key, "".join(lines).encode()


def write_folder(root: Path, first: int, count: int, total: int) -> int:
    written = 0
    for key, body in capture_files(first, count, total, seed=first):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        written += len(body)
    return written


def peak_rss_mb() -> float:
    """This process's peak resident set size.

    Linux keeps ru_maxrss across fork and exec, so a child started by a big
    parent reports at least the parent's size; VmHWM belongs to this process
    image alone. ru_maxrss is the fallback where there is no /proc.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(source_arg: str, out_dir: str) -> dict:
    """Run in a fresh process: peak RSS after imports, then build the report, then peak RSS."""
    from scones.monitoring import DirectoryCaptures, StorageCaptures, build_report
    from scones.storage import Storage, s3_client

    baseline_mb = peak_rss_mb()
    if source_arg.startswith("s3://"):
        prefix, _, url = source_arg.partition("|")  # "s3://bucket/prefix/|http://127.0.0.1:PORT"
        source = StorageCaptures(Storage(s3_client(url)), prefix)
    else:
        source = DirectoryCaptures(source_arg)
    started = time.perf_counter()
    summary = build_report(source, out_dir=out_dir, class_names=CLASSES)
    seconds = time.perf_counter() - started
    return {"records": summary.counts.valid, "seconds": seconds, "baseline_mb": baseline_mb,
            "peak_mb": peak_rss_mb(), "share_below": summary.share_below_threshold}


def run_measure(label: str, source_arg: str, out_dir: Path) -> dict:
    output = subprocess.run([sys.executable, __file__, "--measure", source_arg, str(out_dir)],
                            check=True, capture_output=True, text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["label"] = label
    return result


def print_results(results: list[dict]) -> None:
    print(f"{'source':<28}{'records':>11}{'wall s':>9}{'records/s':>12}{'baseline MB':>13}{'peak MB':>9}"
          f"{'peak-baseline':>15}")
    for r in results:
        print(f"{r['label']:<28}{r['records']:>11,}{r['seconds']:>9.1f}{r['records'] / r['seconds']:>12,.0f}"
              f"{r['baseline_mb']:>13.0f}{r['peak_mb']:>9.0f}{r['peak_mb'] - r['baseline_mb']:>15.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--s3-records", type=int, default=100_000)
    parser.add_argument("--reports", type=Path, help="keep the reports here (default: removed with the captures)")
    parser.add_argument("--measure", nargs=2, metavar=("SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return

    small = args.records // 10
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        root = Path(tmp)
        reports = args.reports or root
        started = time.perf_counter()
        size = write_folder(root / "captures" / "first-tenth", 0, small, args.records)
        size += write_folder(root / "captures" / "rest", small, args.records - small, args.records)
        print(f"wrote {args.records:,} capture records ({size / 1e6:,.0f} MB, {RECORDS_PER_FILE:,} per file) "
              f"in {time.perf_counter() - started:.1f} s")
        results = [
            run_measure(f"local folder, {small:,}", str(root / "captures" / "first-tenth"), reports / "local-tenth"),
            run_measure(f"local folder, {args.records:,}", str(root / "captures"), reports / "local-all"),
        ]
        if args.s3_records:
            results.append(bench_s3(args.s3_records, reports / "s3"))
        print_results(results)
        print(f"share below 0.93: {results[1]['share_below']:.3f}; the summary's columns hold 19 bytes a record "
              f"({19 * args.records / 1e6:.0f} MB for {args.records:,}); peak = VmHWM of the measuring process")


def bench_s3(records: int, out_dir: Path) -> dict:
    from scones.backends.local.s3_choice import EmbeddedS3

    from scones.storage import Storage, s3_client

    with EmbeddedS3() as server:
        storage = Storage(s3_client(server.url))
        storage.ensure_bucket("bench")
        started = time.perf_counter()
        storage.put_many({f"s3://bench/{key}": body for key, body in capture_files(0, records, records, seed=1)})
        print(f"uploaded {records:,} capture records to the embedded S3 in {time.perf_counter() - started:.1f} s")
        return run_measure(f"embedded S3, {records:,}",
                           f"s3://bench/data_capture/scones-endpoint/|{server.url}", out_dir)


if __name__ == "__main__":
    main()
