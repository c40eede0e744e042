"""`scones run --backend aws` under moto: every step of the pipeline, then cleanup leaves nothing tagged.

moto records the requests but cannot train, serve, capture or run Lambdas, so
the fake clock's sleep stands in for what AWS does meanwhile: the training job
writes its model.tar.gz, the endpoint captures each invocation, and the
executions finish. Everything else is the aws backend's own code.
"""

from __future__ import annotations

import json

from scones.lst import parse_lst
from scones.monitoring.build import build_report
from scones.pipeline import RunOptions, run_pipeline
from scones.synthetic_cifar import synthetic_split, write_cifar_archive

from ..workflow.colour_model import colour_model_tarball
from .aws_fakes import BUCKET, REGION, act_as_aws

def tagged(session) -> list[str]:
    """Tagged resources that cost money or grant access. Two kinds are kept on purpose: the bucket
    (cleanup never deletes it) and training jobs (SageMaker has no DeleteTrainingJob; finished jobs
    are not billed)."""
    tagging = session.client("resourcegroupstaggingapi", region_name=REGION)
    arns = [item["ResourceARN"] for page in tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": "scones:project"}]) for item in page["ResourceTagMappingList"]]
    roles = [role["Arn"] for role in session.client("iam").list_roles(PathPrefix="/scones/")["Roles"]]
    return [arn for arn in arns + roles if not arn.startswith("arn:aws:s3:::") and ":training-job/" not in arn]


def test_run_goes_through_every_step_and_cleanup_leaves_nothing(backend, session, fake_clock, recorder, tmp_path):
    archive = write_cifar_archive(tmp_path / "c.tar.gz", synthetic_split([8, 48] * 4, seed=1),
                                  synthetic_split([8, 48] * 2, seed=2))
    fake_clock.on_sleep.append(act_as_aws(backend, session, colour_model_tarball()))
    said = []
    options = RunOptions(archive=str(archive), out_dir=tmp_path / "out", executions=3, seed=1,
                         hyperparameter_overrides={"epochs": "2"})
    summary = run_pipeline(backend, options, say=said.append, build_monitor_report=build_report)

    assert list(summary.steps) == ["stage", "train", "deploy", "execute", "monitor"]
    job = session.client("sagemaker").describe_training_job(TrainingJobName=summary.training.job_name)
    assert job["HyperParameters"]["epochs"] == "2" and job["HyperParameters"]["num_layers"] == "152"
    # What the pipeline chose and moved, not what the fakes answered: the executions it started are the
    # rows, each a staged test image with its class from test.lst; the files it saved are the bucket's.
    labels = {entry.path: entry.label for entry in parse_lst(backend.storage.get(f"s3://{BUCKET}/test.lst").decode())}
    started = [json.loads(call["input"]) for call in recorder.of("StartExecution")]
    assert [case["s3_key"] for case in started] == [row.image for row in summary.rows]
    assert all(case["s3_bucket"] == BUCKET and backend.storage.exists(f"s3://{BUCKET}/{case['s3_key']}")
               for case in started)
    assert [row.true_class for row in summary.rows] == [
        ("bicycle", "motorcycle")[labels[row.image.removeprefix("test/")]] for row in summary.rows]
    config = recorder.of("CreateEndpointConfig")[0]["DataCaptureConfig"]
    assert config["DestinationS3Uri"] == f"s3://{BUCKET}/data_capture"  # the default capture
    out = tmp_path / "out"
    assert (out / "model.tar.gz").read_bytes() == backend.storage.get(summary.training.model_uri)
    captured = {stored.uri.split("/data_capture/scones-endpoint/")[1]: backend.storage.get(stored.uri)
                for stored in backend.storage.list(backend.captures_uri("scones-endpoint"))}
    assert captured and {str(path.relative_to(out / "captures")): path.read_bytes()
                         for path in (out / "captures").rglob("*.jsonl")} == captured
    assert summary.monitor.counts.valid == sum(body.count(b"\n") for body in captured.values())
    endpoints = session.client("sagemaker").list_endpoints()["Endpoints"]
    assert endpoints == []  # the run deleted its endpoint
    assert tagged(session)  # functions, roles, state machine, models remain until cleanup

    report = backend.cleanup(delete_data=True)
    assert report.deleted and not report.dry_run
    assert tagged(session) == []
    assert list(backend.storage.list(f"s3://{BUCKET}/")) == []
    assert backend.cleanup().deleted == []


def test_names_of_a_second_run_do_not_collide(backend, session, fake_clock, tmp_path):
    archive = write_cifar_archive(tmp_path / "c.tar.gz", synthetic_split([8, 48] * 4, seed=1),
                                  synthetic_split([8, 48] * 2, seed=2))
    fake_clock.on_sleep.append(act_as_aws(backend, session, colour_model_tarball()))
    for attempt in range(2):  # AWS keeps execution names unique for 90 days
        options = RunOptions(archive=str(archive), out_dir=tmp_path / f"out{attempt}", executions=2, seed=1,
                             hyperparameter_overrides={"epochs": "1"})
        summary = run_pipeline(backend, options, say=lambda _: None, build_monitor_report=build_report)
        assert [row.status for row in summary.rows] == ["SUCCEEDED"] * 2
    sfn = session.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
    assert len(names) == len(set(names)) == 4
