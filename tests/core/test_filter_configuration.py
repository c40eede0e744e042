"""The filter's threshold: explicit > configured > 0.93; the local record; set_threshold on the memory backend."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.backends.memory import MemoryBackend
from scones.errors import InputError, NotStaged
from scones.filter_configuration import effective_threshold, read_local_threshold, write_local_threshold
from scones.inferences import DEFAULT_THRESHOLD
from scones.synthetic_cifar import synthetic_split, write_cifar_archive

thresholds = st.floats(0, 1)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
maybe = st.none() | thresholds


@given(maybe, maybe)
def test_explicit_beats_configured_beats_the_default(explicit, configured):
    expected = explicit if explicit is not None else configured if configured is not None else DEFAULT_THRESHOLD
    assert effective_threshold(explicit, configured) == expected


@given(st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1 + 1e-9), st.just(math.nan),
                 st.text().filter(lambda text: not is_number(text))))
def test_an_explicit_value_outside_0_1_is_refused(value):
    with pytest.raises(InputError, match="THRESHOLD must be"):
        effective_threshold(value, 0.5)


def test_the_local_record_round_trips_in_s3(storage, bucket):
    assert read_local_threshold(storage, bucket) is None
    write_local_threshold(storage, bucket, 0.875)
    assert json.loads(storage.get(f"s3://{bucket}/scones/functions/filterInferences.json")) == {"THRESHOLD": "0.875"}
    assert read_local_threshold(storage, bucket) == 0.875


def test_a_missing_bucket_is_named_with_the_fix(storage):
    with pytest.raises(NotStaged, match=r"^s3://no-such-bucket-here/ does not exist: run `scones stage` first"):
        write_local_threshold(storage, "no-such-bucket-here", 0.9)


def unsure(body: bytes) -> list[float]:
    return [0.8, 0.2]  # 0.8: fails at 0.93, passes at 0.75


@pytest.fixture
def staged_memory(tmp_path):
    archive = write_cifar_archive(tmp_path / "cifar.tar.gz", synthetic_split([8, 48] * 4, seed=1),
                                  synthetic_split([8, 48] * 2, seed=2))
    backend = MemoryBackend(predict=unsure)
    backend.stage(str(archive))
    backend.deploy(model_uri=backend.train().model_uri)
    return backend


def first_test_image(backend) -> dict:
    listing = backend.storage.get(f"s3://{backend.bucket}/test.lst").decode().splitlines()[0]
    return {"image_data": "", "s3_bucket": backend.bucket, "s3_key": "test/" + listing.split("\t")[2]}


def test_set_threshold_applies_to_the_next_execution_of_the_same_workflow(staged_memory):
    workflow = staged_memory.deploy_workflow()
    assert workflow.threshold == DEFAULT_THRESHOLD and staged_memory.filter_threshold() == DEFAULT_THRESHOLD
    case = first_test_image(staged_memory)
    assert staged_memory.start_execution(workflow, case).status == "FAILED"
    staged_memory.set_threshold(0.75)
    assert staged_memory.start_execution(workflow, case).status == "SUCCEEDED"
    assert staged_memory.deploy_workflow().threshold == 0.75  # a redeploy keeps it
    assert staged_memory.deploy_workflow(threshold=0.9).threshold == 0.9  # an explicit one replaces it
    assert staged_memory.filter_threshold() == 0.9
