"""Issue 14's "Done when": `scones run --backend aws` end to end, offline, against MiniStack + the local SageMaker.

MiniStack (the session's ``aws_emulator_url``) runs S3, IAM, STS, Lambda, Step
Functions and CloudWatch Logs; the local SageMaker (``sagemaker_control_plane_url``,
served from a thread of this process) trains and serves on MiniStack's S3. The
CLI runs as a user runs it, in a subprocess, with only the endpoint variables set.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scones.capture import parse_record
from scones.clients import make_client

from tests.aws.test_real_account import synthetic_archive

pytestmark = pytest.mark.localstack
RUN_TIMEOUT_SECONDS = 600
CAPTURE_KEY = re.compile(r"data_capture/[^/]+/AllTraffic/\d{4}/\d\d/\d\d/\d\d/\d\d-\d\d-\d{3}-[0-9a-f-]{36}\.jsonl")


def scones(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scones", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS)


def test_scones_run_on_the_emulators_then_cleanup_leaves_nothing(aws_emulator_url, sagemaker_control_plane_url,
                                                                  tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=aws_emulator_url, AWS_ENDPOINT_URL_SAGEMAKER=sagemaker_control_plane_url,
               AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=sagemaker_control_plane_url, AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1", SCONES_AWS_MAX_POLL_SECONDS="1")
    archive = synthetic_archive(tmp_path)
    out = tmp_path / "out"
    run = scones("run", "--backend", "aws", "--source", str(archive), "--count", "5", "-H", "epochs=2",
                 "-H", "num_layers=20", "--out", str(out), env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    assert (out / "model.tar.gz").stat().st_size > 0
    assert (out / "monitor" / "report.html").exists()
    assert len(json.loads((out / "executions.json").read_text())) == 5
    assert len(list((out / "histories").glob("*.json"))) == 5

    s3 = make_client("s3", endpoint_url=aws_emulator_url)
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("sagemaker-us-east-1-"))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(re.fullmatch(r"models/[^/]+/output/model\.tar\.gz", key) for key in keys), keys
    captures = [key for key in keys if key.startswith("data_capture/")]
    assert captures and all(CAPTURE_KEY.fullmatch(key) for key in captures), captures
    records = [parse_record(line) for key in captures
               for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines() if line]
    assert len(records) == 5

    first = scones("cleanup", "--backend", "aws", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = scones("cleanup", "--backend", "aws", env=env, cwd=tmp_path)
    assert second.returncode == 0 and "nothing to delete" in second.stdout, second.stdout + second.stderr

    sagemaker = make_client("sagemaker", endpoint_url=sagemaker_control_plane_url)
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []
    assert make_client("lambda", endpoint_url=aws_emulator_url).list_functions()["Functions"] == []
    assert make_client("stepfunctions", endpoint_url=aws_emulator_url).list_state_machines()["stateMachines"] == []
    roles = make_client("iam", endpoint_url=aws_emulator_url).list_roles()["Roles"]
    assert [role["RoleName"] for role in roles if "scones" in role["RoleName"].lower()] == []
