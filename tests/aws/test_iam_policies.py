"""The generated IAM documents, exactly; and `scones aws policies`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from .aws_fakes import ACCOUNT
from scones.backends.aws.cli import aws_group
from scones.backends.aws.iam_policies import (
    all_role_specs,
    filter_function_policy,
    sagemaker_execution_policy,
    serialize_function_policy,
    trust_policy,
)
from scones.backends.aws.naming import Scope, ecr_repository_arn

SCOPE = Scope(region="eu-west-1", account="111122223333")
REPOSITORY = "arn:aws:ecr:eu-west-1:685385470294:repository/image-classification"
LOGS = "arn:aws:logs:eu-west-1:111122223333:log-group"


def test_serialize_reads_only_test_images_and_writes_its_logs():
    assert serialize_function_policy(SCOPE, "my-bucket") == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadImages", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": ["arn:aws:s3:::my-bucket/test/*"]},
        {"Sid": "WriteOwnLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [f"{LOGS}:/aws/lambda/serializeImageData", f"{LOGS}:/aws/lambda/serializeImageData:*"]},
    ]}


def test_filter_only_writes_its_logs():
    assert filter_function_policy(Scope(region="eu-west-1", account="111122223333", prefix="dev-")) == {
        "Version": "2012-10-17", "Statement": [
            {"Sid": "WriteOwnLogs", "Effect": "Allow",
             "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [f"{LOGS}:/aws/lambda/dev-filterInferences", f"{LOGS}:/aws/lambda/dev-filterInferences:*"]},
        ]}


def test_sagemaker_gets_only_its_prefixes_its_image_and_its_logs():
    bucket = "arn:aws:s3:::my-bucket"
    assert sagemaker_execution_policy(SCOPE, "my-bucket", REPOSITORY) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadChannelsAndModels", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [f"{bucket}/train/*", f"{bucket}/test/*", f"{bucket}/train.lst", f"{bucket}/test.lst",
                      f"{bucket}/models/*"]},
        {"Sid": "WriteModelsAndCaptures", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": [f"{bucket}/models/*", f"{bucket}/data_capture/*"]},
        {"Sid": "ListChannelsAndModels", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket,
         "Condition": {"StringLike": {"s3:prefix": ["train/*", "test/*", "train.lst", "test.lst", "models/*"]}}},
        {"Sid": "PullAlgorithmImage", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
         "Resource": REPOSITORY},
        {"Sid": "EcrToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "WriteSageMakerLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": [f"{LOGS}:/aws/sagemaker/*", f"{LOGS}:/aws/sagemaker/*:log-stream:*"]},
        {"Sid": "PutSageMakerMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}},
    ]}


def test_trust_policies():
    assert trust_policy("lambda.amazonaws.com") == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    assert trust_policy("sagemaker.amazonaws.com", source_account="111122223333") == {
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}]}


def test_endpoint_arns_are_lower_case_as_sagemaker_writes_them():
    assert SCOPE.endpoint_arn("Scones-Endpoint") == "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/scones-endpoint"


def test_no_wildcard_actions_and_no_wildcard_resources_but_the_two_that_need_one():
    specs = all_role_specs(SCOPE, bucket="b", endpoint_name="e", image_repository_arn=REPOSITORY)
    for spec in specs:
        for statement in spec.policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), spec.name
            if statement["Resource"] == "*":
                assert actions in (["ecr:GetAuthorizationToken"], ["cloudwatch:PutMetricData"]), spec.name
    assert [spec.name for spec in specs] == ["scones-sagemaker-execution", "scones-serialize-image-data",
                                             "scones-classify-image", "scones-filter-inferences", "scones-workflow"]


def test_ecr_repository_from_image_uri():
    assert ecr_repository_arn("685385470294.dkr.ecr.eu-west-1.amazonaws.com/image-classification:1") == REPOSITORY


def test_policies_command_offline():
    result = CliRunner().invoke(aws_group, ["policies", "--region", "eu-west-1", "--account", "111122223333",
                                            "--bucket", "my-bucket"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    specs = all_role_specs(SCOPE, bucket="my-bucket", endpoint_name="scones-endpoint", image_repository_arn=REPOSITORY)
    assert printed == {spec.name: {"path": "/scones/", "description": spec.description, "trust_policy": spec.trust,
                                   "policy": spec.policy} for spec in specs}


def test_policies_command_needs_both_or_neither():
    result = CliRunner().invoke(aws_group, ["policies", "--account", "111122223333"])
    assert result.exit_code == 2 and "pass both --account and --bucket" in result.output


def test_policies_command_asks_aws_for_the_account(mocked_aws):
    result = CliRunner().invoke(aws_group, ["policies", "--region", "us-east-1", "--endpoint-name", "e1"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    statement = printed["scones-classify-image"]["policy"]["Statement"][0]
    assert statement["Resource"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/e1"
    read = printed["scones-serialize-image-data"]["policy"]["Statement"][0]["Resource"]
    assert read == [f"arn:aws:s3:::sagemaker-us-east-1-{ACCOUNT}/test/*"]
