"""What a new user meets in the first hour: names that resolve, and errors that list every problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def scones(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scones", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_scones_asl_is_reachable_after_a_bare_import_and_loads_only_when_asked():
    program = ("import sys, scones; assert 'scones.asl' not in sys.modules; "
               "print(scones.asl.execute.__module__)")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "scones.asl.execution\n"


def test_execute_with_an_invalid_definition_lists_its_problems(tmp_path):
    definition = tmp_path / "mine.asl.json"
    definition.write_text(json.dumps({"StartAt": "Missing", "States": {
        "A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Wait", "End": True}}}))
    result = scones("execute", "--backend", "memory", "--definition", str(definition))
    assert result.returncode == 1
    assert "invalid state machine definition (3 problem(s))" in result.stderr
    assert "/StartAt: StartAt 'Missing' does not name a state" in result.stderr
    assert "/States/A/Next" in result.stderr and "/States/B: a Wait state needs exactly one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_after_stage_on_an_embedded_s3_says_that_s3_is_gone():
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("AWS_ENDPOINT_URL") and name != "LOCALSTACK_HOST"}
    env["LOCALSTACK_HOST"] = "127.0.0.1:1"  # no LocalStack: this command starts its own embedded S3
    result = scones("train", env=env)
    assert result.returncode == 1
    assert "run `scones stage` first" in result.stderr
    assert "This command's embedded S3 started empty: the one the previous command used ended with it" in result.stderr
    assert "Run `scones up` in another terminal" in result.stderr and "Traceback" not in result.stderr


def test_invoke_on_a_missing_file_says_so_without_a_traceback(tmp_path):
    result = scones("invoke", "--backend", "memory", str(tmp_path / "no.png"))
    assert result.returncode == 2
    assert f"{tmp_path / 'no.png'}: no such file; pass a PNG or JPEG file, or an s3:// URI" in result.stderr
    assert "Traceback" not in result.stderr


def test_stage_with_no_s3_listening_says_where_it_looked(tmp_path):
    from scones.synthetic_cifar import synthetic_split, write_cifar_archive

    archive = write_cifar_archive(tmp_path / "c.tar.gz", synthetic_split([8, 48], seed=1), synthetic_split([8], seed=2))
    result = scones("stage", "--endpoint-url", "http://127.0.0.1:1", "--source", str(archive))
    assert result.returncode == 1
    assert "no S3 answers at http://127.0.0.1:1" in result.stderr and "pass the right --endpoint-url" in result.stderr
    assert "Traceback" not in result.stderr
