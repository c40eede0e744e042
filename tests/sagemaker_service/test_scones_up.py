"""`scones up` serves S3 and SageMaker on one port and prints the variables that reach them."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3


def test_scones_up_prints_the_exports_and_answers_both_apis(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "scones", "up", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        heading = process.stdout.readline()
        exports = dict(process.stdout.readline().removeprefix("export ").strip().split("=", 1) for _ in range(3))
        url = heading.split(" on ")[1].split()[0]
        assert heading == f"S3 and SageMaker listening on {url} (Ctrl-C to stop)\n"
        assert exports == {"AWS_ENDPOINT_URL_S3": url, "AWS_ENDPOINT_URL_SAGEMAKER": url,
                           "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url}
        credentials = dict(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        boto3.client("s3", endpoint_url=url, **credentials).create_bucket(Bucket="scones-up-test")
        assert [b["Name"] for b in boto3.client("s3", endpoint_url=url, **credentials).list_buckets()["Buckets"]] == [
            "scones-up-test"]
        assert boto3.client("sagemaker", endpoint_url=url, **credentials).list_endpoints()["Endpoints"] == []
    finally:
        process.terminate()
        process.communicate(timeout=30)
