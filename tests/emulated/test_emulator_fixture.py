"""The emulator the `localstack` tests run against answers as AWS does, and a missing MiniStack says how to get it."""

from __future__ import annotations

from pathlib import Path

import pytest

from scones.clients import make_client
from scones.ministack import MiniStackUnavailable, answers_health, ministack_command, ministack_environment

pytestmark = pytest.mark.localstack


def test_the_emulator_answers_the_health_path_and_sts(aws_emulator_url):
    assert answers_health(aws_emulator_url)
    identity = make_client("sts", endpoint_url=aws_emulator_url).get_caller_identity()
    assert identity["Account"].isdigit() and len(identity["Account"]) == 12


def test_the_emulator_keeps_what_it_is_given_over_http(aws_emulator_url):
    s3 = make_client("s3", endpoint_url=aws_emulator_url)
    s3.create_bucket(Bucket="scones-emulator-fixture")
    s3.put_object(Bucket="scones-emulator-fixture", Key="a/b.bin", Body=b"\x00scones\xff")
    assert s3.get_object(Bucket="scones-emulator-fixture", Key="a/b.bin")["Body"].read() == b"\x00scones\xff"


def test_a_missing_ministack_names_the_path_and_the_make_target(tmp_path: Path):
    with pytest.raises(MiniStackUnavailable, match=r"MiniStack not found at .*bin/ministack: run `make test`"):
        ministack_command(tmp_path / ".venv-ministack")


def test_the_server_binds_loopback_on_its_port_and_ignores_the_callers_endpoint_overrides():
    environment = ministack_environment(4711, {"PATH": "/bin", "AWS_ENDPOINT_URL": "http://x", "AWS_ENDPOINT_URL_S3": "y"})
    assert environment == {"PATH": "/bin", "GATEWAY_PORT": "4711", "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}
