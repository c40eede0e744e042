"""train_from_storage against a real S3: the artifact, determinism, log lines, refusals, Ctrl-C."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from scones.staged_bucket import StagedDataError

from scones.backends.local.training import TrainingDataError, train_from_storage
from scones.model_artifact import ModelMetadata, read_model_tarball
from scones.training_log import collect_epochs

from .synthetic_data import CLASS_NAMES, stage_synthetic, tiny_hyperparameters


def train(storage, bucket, job_name="job-1", seed=7, **options):
    lines = []
    hyperparameters = options.pop("hyperparameters", tiny_hyperparameters())
    result = train_from_storage(storage, bucket, hyperparameters, job_name=job_name, seed=seed, progress=False,
                                log=lines.append, **options)
    return result, lines


def members(tarball: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        return {name: archive.extractfile(name).read() for name in archive.getnames()}


def test_training_uploads_the_algorithms_artifact_and_metadata(storage, staged):
    result, lines = train(storage, staged)
    assert result.model_uri == f"s3://{staged}/models/job-1/output/model.tar.gz"
    assert sorted(o.uri for o in storage.list(f"s3://{staged}/models/")) == [
        result.model_uri, f"s3://{staged}/models/job-1/output/scones-metadata.json"]
    files = members(storage.get(result.model_uri))
    assert sorted(files) == ["image-classification-0001.params", "image-classification-symbol.json",
                             "model-shapes.json"]
    assert files["model-shapes.json"] == b'[{"shape": [8, 3, 32, 32], "name": "data"}]'
    nodes = json.loads(files["image-classification-symbol.json"])["nodes"]
    operators = [node["name"] for node in nodes if node["op"] != "null"]
    assert nodes[0]["name"] == "data" and operators[:2] == ["id", "bn_data"] and operators[-1] == "softmax"
    assert nodes[-2]["name"] == "softmax_label"

    metadata = ModelMetadata.from_json(storage.get(result.metadata_uri))
    assert metadata.class_names == result.class_names == CLASS_NAMES
    assert metadata.hyperparameters == tiny_hyperparameters().to_mapping()
    assert (metadata.seed, metadata.best_epoch, metadata.job_name) == (7, 0, "job-1")
    assert set(metadata.versions) == {"mxnet", "numpy", "python"}

    assert result.best_epoch == 0 and len(result.metrics) == 1
    logged = collect_epochs(lines)
    assert [m.epoch for m in logged] == [0]
    assert logged[0].validation_accuracy == float(f"{result.best_validation_accuracy:f}")
    assert f"Storing the best model with validation accuracy: {result.best_validation_accuracy:f}" in lines


def test_same_seed_gives_identical_params_bytes(storage, staged):
    first, _ = train(storage, staged, job_name="seeded-a", seed=11)
    second, _ = train(storage, staged, job_name="seeded-b", seed=11)
    other, _ = train(storage, staged, job_name="seeded-c", seed=12)
    params = [members(storage.get(r.model_uri))["image-classification-0001.params"] for r in (first, second, other)]
    assert params[0] == params[1]
    assert params[0] != params[2]
    assert storage.get(first.model_uri) == storage.get(second.model_uri)


def test_the_best_epoch_is_exported_and_checkpoints_follow_the_frequency(storage, staged):
    hyperparameters = tiny_hyperparameters(epochs=8, mini_batch_size=4, learning_rate=0.05)
    result, lines = train(storage, staged, hyperparameters=hyperparameters)
    accuracies = [m.validation_accuracy for m in result.metrics]
    assert result.best_epoch == accuracies.index(max(accuracies))
    assert max(accuracies) == 1.0  # two colour patterns: separable
    assert list(members(storage.get(result.model_uri)))[0] == f"image-classification-{result.best_epoch + 1:04d}.params"

    periodic, _ = train(storage, staged, job_name="periodic", hyperparameters=hyperparameters.replace(
        checkpoint_frequency=4))
    artifact = read_model_tarball(storage.get(periodic.model_uri))
    assert artifact.checkpoint_epochs == (4, 8) and artifact.epoch == 8


def test_ctrl_c_leaves_nothing_uploaded(storage, staged):
    def interrupt(metrics):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(storage, staged, hyperparameters=tiny_hyperparameters(epochs=2), on_epoch_end=interrupt)
    assert list(storage.list(f"s3://{staged}/models/")) == []


def test_class_names_fall_back_to_class_ids(storage, bucket):
    stage_synthetic(storage, bucket, classes_json=False)
    result, _ = train(storage, bucket)
    assert result.class_names == ("class_0", "class_1")


def test_a_job_name_is_used_once_and_must_be_valid(storage, staged):
    train(storage, staged, job_name="once")
    with pytest.raises(FileExistsError, match=r"models/once/output/model.tar.gz already exists: job 'once' has run"):
        train(storage, staged, job_name="once")
    with pytest.raises(ValueError, match="job name 'bad_name' is not a SageMaker training job name"):
        train(storage, staged, job_name="bad_name")


def test_bad_staged_data_is_refused_with_the_object_and_the_fix(storage, staged):
    train_lst = f"s3://{staged}/train.lst"
    listing = storage.get(train_lst)
    storage.put(train_lst, listing + b"99\t2\tbicycle_s_000000.png\n")
    with pytest.raises(TrainingDataError, match=rf"^{train_lst} labels bicycle_s_000000.png as class 2, but "
                                                r"num_classes=2; set num_classes to the number of classes staged$"):
        train(storage, staged)
    storage.put(train_lst, listing + b"99\t1\tgone.png\n")
    with pytest.raises(TrainingDataError, match=rf"^{train_lst} lists an image that is missing: cannot read "
                                                rf"s3://{staged}/train/gone.png: no such object"):
        train(storage, staged)
    storage.put(train_lst, listing)
    storage.put(f"s3://{staged}/test/bicycle_s_000000.png", b"not a png")
    with pytest.raises(TrainingDataError, match=rf"^s3://{staged}/test/bicycle_s_000000.png: the 9-byte body is "
                                                "not an image Pillow can decode"):
        train(storage, staged)
    with pytest.raises(StagedDataError, match=rf"^s3://{staged}/classes.json names 2 classes but num_classes is 3"):
        train(storage, staged, hyperparameters=tiny_hyperparameters(num_classes=3))


def test_unstaged_bucket_says_to_stage_first(storage, bucket):
    with pytest.raises(TrainingDataError, match=rf"cannot read s3://{bucket}/train.lst: .*; run `scones stage` "
                                                "to write the channels first"):
        train(storage, bucket)


def test_locally_unsupported_values_are_refused_before_reading_data(storage, bucket):
    from scones.hyperparameters import LocallyUnsupported

    with pytest.raises(LocallyUnsupported, match="use_pretrained_model=1"):
        train(storage, bucket, hyperparameters=tiny_hyperparameters(use_pretrained_model=1))
