"""Staging a full-size CIFAR-100 archive: wall time and peak memory against the floor.

    python benchmarks/bench_staging.py [--archive PATH]

The floor is what any reader must do: gunzip the archive and unpickle its
three members. Staging adds the class filter, PNG encoding and the uploads to
an S3 server over HTTP (the embedded one, in the same process). Each phase
runs in a fresh process so its peak RSS is its own; the S3 server's own
process is not counted. Target: staging ≤ 2× floor.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path


def phase_floor(archive: str) -> dict:
    started = time.perf_counter()
    with tarfile.open(archive, "r|gz") as tar:
        for info in tar:
            if info.isfile():
                pickle.load(tar.extractfile(info), encoding="bytes")
    return {"seconds": time.perf_counter() - started}


def phase_stage(archive: str) -> dict:
    from scones.backends.local.s3_choice import EmbeddedS3
    from scones.staged_bucket import stage_archive
    from scones.storage import Storage, s3_client

    with EmbeddedS3() as server:
        storage = Storage(s3_client(server.url))
        started = time.perf_counter()
        report = stage_archive(archive, storage, "bench")
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = stage_archive(archive, storage, "bench")
        second = time.perf_counter() - started
    return {"seconds": first, "uploaded": len(report.uploaded), "rerun_seconds": second,
            "rerun_uploaded": len(again.uploaded)}


def run_phase(name: str, archive: str) -> dict:
    output = subprocess.run([sys.executable, __file__, "--phase", name, "--archive", archive],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--archive", help="an existing archive (default: generate a full-size one)")
    parser.add_argument("--phase", choices=["floor", "stage"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = {"floor": phase_floor, "stage": phase_stage}[args.phase](args.archive)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as scratch:
        archive = args.archive
        if archive is None:
            # In a child process: Linux carries a parent's peak RSS into the children it execs.
            archive = f"{scratch}/cifar-100-python.tar.gz"
            subprocess.run([sys.executable, str(Path(__file__).with_name("make_archive.py")), archive],
                           check=True, capture_output=True)
        size_mb = Path(archive).stat().st_size / 1e6
        floor = run_phase("floor", archive)
        stage = run_phase("stage", archive)
    print(f"archive: {size_mb:.1f} MB (50,000 train + 10,000 test rows)")
    print(f"floor  (gunzip + unpickle):   {floor['seconds']:6.2f} s   peak RSS {floor['peak_rss_mb']:7.1f} MB")
    print(f"stage  (read, PNG, upload):   {stage['seconds']:6.2f} s   peak RSS {stage['peak_rss_mb']:7.1f} MB"
          f"   ({stage['uploaded']} objects)")
    print(f"stage again (nothing new):    {stage['rerun_seconds']:6.2f} s   ({stage['rerun_uploaded']} uploaded)")
    ratio = stage["seconds"] / floor["seconds"]
    print(f"ratio stage/floor: {ratio:.2f}x  (target <= 2x: {'met' if ratio <= 2 else 'MISSED'})")


if __name__ == "__main__":
    main()
