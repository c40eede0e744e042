"""Distributed Map against a real S3 over HTTP: ItemReader listing a prefix, ItemBatcher, ResultWriter."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from scones.asl import StateMachine
from scones.asl.distributed_map import listed_item, list_all, s3_integrations


def distributed_map(bucket: str, processor_states: dict, **fields) -> dict:
    return {"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
                       "Parameters": {"Bucket": bucket, "Prefix": "in/"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": next(iter(processor_states)), "States": processor_states},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": bucket, "Prefix": "out"}},
        "End": True, **fields}}}


def read_json(storage, bucket: str, key: str):
    return json.loads(storage.get(f"s3://{bucket}/{key}"))


def test_items_are_the_listed_objects_across_pages_and_results_land_in_s3(run, storage, bucket):
    storage.put_many({f"s3://{bucket}/in/{n:04d}.txt": b"x" * n for n in range(1, 1006)})  # more than one page
    storage.put(f"s3://{bucket}/other/skip.txt", b"not listed")
    definition = distributed_map(bucket, {"Echo": {"Type": "Pass", "End": True}},
                                 ItemBatcher={"MaxItemsPerBatch": 500, "BatchInput": {"run": "r1"}})
    execution = run(definition, {}, resources=s3_integrations(storage.client), max_workers=4)

    assert execution.status == "SUCCEEDED", execution.cause
    output = execution.output_value
    run_id = output["ResultWriterDetails"]["Key"].split("/")[1]
    assert output == {"MapRunArn": f"arn:aws:states:us-east-1:123456789012:mapRun:StateMachine/M:{run_id}",
                      "ResultWriterDetails": {"Bucket": bucket, "Key": f"out/{run_id}/manifest.json"}}
    manifest = read_json(storage, bucket, f"out/{run_id}/manifest.json")
    succeeded_key = f"out/{run_id}/SUCCEEDED_0.json"
    assert manifest == {"DestinationBucket": bucket, "MapRunArn": output["MapRunArn"], "ResultFiles": {
        "SUCCEEDED": [{"Key": succeeded_key, "Size": len(storage.get(f"s3://{bucket}/{succeeded_key}"))}],
        "FAILED": [], "PENDING": []}}
    entries = read_json(storage, bucket, succeeded_key)
    assert [entry["Status"] for entry in entries] == ["SUCCEEDED"] * 3
    batches = [json.loads(entry["Output"]) for entry in entries]
    assert [len(batch["Items"]) for batch in batches] == [500, 500, 5]
    assert {batch["BatchInput"]["run"] for batch in batches} == {"r1"}
    items = [item for batch in batches for item in batch["Items"]]
    assert [item["Key"] for item in items] == [f"in/{n:04d}.txt" for n in range(1, 1006)]
    head = storage.client.head_object(Bucket=bucket, Key="in/0007.txt")
    assert items[6] == {"Etag": head["ETag"], "Key": "in/0007.txt", "LastModified": int(head["LastModified"].timestamp()),
                        "Size": 7, "StorageClass": "STANDARD"}
    assert entries[0]["Input"] == entries[0]["Output"]
    assert entries[0]["StateMachineArn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine/M"


def test_failed_children_are_written_and_the_tolerance_decides(run, storage, bucket):
    storage.put_many({f"s3://{bucket}/in/{name}": b"1" for name in ("a.png", "b.txt", "c.png", "d.png")})
    check = {"Check": {"Type": "Choice", "Choices": [
        {"Variable": "$.Key", "StringMatches": "*.png", "Next": "Ok"}], "Default": "Bad"},
        "Ok": {"Type": "Succeed"}, "Bad": {"Type": "Fail", "Error": "NotAnImage", "Cause": "not a PNG"}}
    tolerant = run(distributed_map(bucket, check, ToleratedFailurePercentage=25), {},
                   resources=s3_integrations(storage.client))
    assert tolerant.status == "SUCCEEDED", tolerant.cause
    manifest = read_json(storage, bucket, tolerant.output_value["ResultWriterDetails"]["Key"])
    failed = read_json(storage, bucket, manifest["ResultFiles"]["FAILED"][0]["Key"])
    assert [(json.loads(e["Input"])["Key"], e["Status"], e["Error"], e["Cause"]) for e in failed] == [
        ("in/b.txt", "FAILED", "NotAnImage", "not a PNG")]
    assert len(read_json(storage, bucket, manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])) == 3

    strict = run(distributed_map(bucket, check, ToleratedFailureCount=0), {}, resources=s3_integrations(storage.client))
    assert (strict.status, strict.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert strict.cause == "The specified tolerated failure threshold was exceeded"


def test_a_listing_that_fails_is_item_reader_failed(run, storage):
    execution = run(distributed_map("no-such-bucket-here", {"P": {"Type": "Pass", "End": True}}), {},
                    resources=s3_integrations(storage.client))
    assert execution.error == "States.ItemReaderFailed"
    assert "NoSuchBucket" in execution.cause


def test_a_result_writer_without_its_bucket_is_result_writer_failed(run, storage, bucket):
    storage.put(f"s3://{bucket}/in/a", b"1")
    definition = distributed_map(bucket, {"P": {"Type": "Pass", "End": True}})
    definition["States"]["M"]["ResultWriter"]["Parameters"] = {"Bucket": "no-such-bucket-here", "Prefix": "out"}
    execution = run(StateMachine(definition), {}, resources=s3_integrations(storage.client))
    assert execution.error == "States.ResultWriterFailed"
    assert "s3://no-such-bucket-here/out/" in execution.cause and "NoSuchBucket" in execution.cause


@given(st.lists(st.integers(0, 30), min_size=1, max_size=6))
def test_list_all_concatenates_pages_in_order_and_sends_the_token(page_sizes):
    pages = [[{"ETag": f'"{p}-{n}"', "Key": f"k{p}-{n}", "Size": n, "LastModified": 1_700_000_000}
              for n in range(size)] for p, size in enumerate(page_sizes)]
    requests = []

    def list_page(request):
        requests.append(request)
        number = int(request.get("ContinuationToken", "0"))
        truncated = number + 1 < len(pages)
        return {"Contents": pages[number], "IsTruncated": truncated,
                **({"NextContinuationToken": str(number + 1)} if truncated else {})}

    items = list_all(list_page, {"Bucket": "b", "Prefix": "p/"})
    assert items == [listed_item(entry) for page in pages for entry in page]
    assert requests == [{"Bucket": "b", "Prefix": "p/"}] + [
        {"Bucket": "b", "Prefix": "p/", "ContinuationToken": str(n)} for n in range(1, len(pages))]


def test_listed_item_reads_an_iso_last_modified():
    assert listed_item({"ETag": '"e"', "Key": "k", "Size": 1, "LastModified": "2024-01-02T03:04:05Z"})[
        "LastModified"] == 1704164645


@pytest.mark.parametrize("resource", ["arn:aws:states:::s3:getObject", None])
def test_result_writer_resource_is_checked_when_loaded(resource):
    from scones.asl import DefinitionError

    definition = distributed_map("b", {"P": {"Type": "Pass", "End": True}})
    definition["States"]["M"]["ResultWriter"]["Resource"] = resource
    with pytest.raises(DefinitionError, match="ResultWriter needs"):
        StateMachine(definition)


def test_reader_config_max_items_limits_the_listing(run, storage, bucket):
    storage.put_many({f"s3://{bucket}/in/{n}.txt": b"x" for n in range(5)})
    definition = distributed_map(bucket, {"P": {"Type": "Pass", "End": True}})
    definition["States"]["M"]["ItemReader"]["ReaderConfig"] = {"MaxItems": 3}
    execution = run(definition, {}, resources=s3_integrations(storage.client))
    manifest = read_json(storage, bucket, execution.output_value["ResultWriterDetails"]["Key"])
    entries = read_json(storage, bucket, manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    assert [json.loads(entry["Input"])["Key"] for entry in entries] == ["in/0.txt", "in/1.txt", "in/2.txt"]
