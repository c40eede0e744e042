"""`scones stage` through the real CLI entry point, against a shared S3."""

import subprocess
import sys

from scones.synthetic_cifar import synthetic_split, write_cifar_archive


def scones(*args):
    return subprocess.run([sys.executable, "-m", "scones", *args], capture_output=True, text=True, timeout=120)


def test_stage_twice_uploads_nothing_the_second_time(tmp_path, s3_endpoint_url, bucket):
    archive = write_cifar_archive(tmp_path / "c.tar.gz", synthetic_split([8, 48, 1], seed=4),
                                  synthetic_split([48], seed=5))
    args = ["stage", "--source", str(archive), "--endpoint-url", s3_endpoint_url, "--bucket", bucket]
    first = scones(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"6 object(s) uploaded, 0 already there in s3://{bucket}/\n"
    assert f"S3 at {s3_endpoint_url} (--endpoint-url)" in first.stderr
    second = scones(*args)
    assert second.stdout == f"0 object(s) uploaded, 6 already there in s3://{bucket}/\n"


def test_bad_archive_exits_1_with_reason(tmp_path, s3_endpoint_url):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"nope")
    result = scones("stage", "--source", str(bad), "--endpoint-url", s3_endpoint_url)
    assert result.returncode == 1
    assert "is truncated or not a CIFAR-100 python archive" in result.stderr
