"""model.tar.gz: the algorithm's layout, deterministic bytes, and refusal of malformed archives."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest

from ..core.memory_limit import user_error_under_memory_limit
from scones.model_artifact import (
    ArtifactError,
    ModelMetadata,
    build_model_tarball,
    model_shapes_json,
    read_model_tarball,
)

SYMBOL = json.dumps({"nodes": [{"op": "null", "name": "data", "inputs": []}], "heads": [[0, 0, 0]]}).encode()


def tarball(members: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


GOOD = {"image-classification-symbol.json": SYMBOL, "image-classification-0013.params": b"weights",
        "model-shapes.json": model_shapes_json((32, 3, 32, 32))}


def test_layout_is_the_algorithms():
    data = build_model_tarball(SYMBOL, {13: b"weights"}, (32, 3, 32, 32))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert archive.getnames() == ["image-classification-0013.params", "image-classification-symbol.json",
                                      "model-shapes.json"]
        assert archive.extractfile("model-shapes.json").read() == b'[{"shape": [32, 3, 32, 32], "name": "data"}]'
    artifact = read_model_tarball(data)
    assert (artifact.epoch, artifact.params, artifact.image_shape, artifact.notes) == (13, b"weights", (3, 32, 32), ())
    assert artifact.to_tarball() == data
    assert build_model_tarball(SYMBOL, {13: b"weights"}, (32, 3, 32, 32)) == data  # deterministic bytes


def test_sagemaker_style_archive_with_dot_slash_names_is_read():
    artifact = read_model_tarball(tarball({f"./{name}": body for name, body in GOOD.items()}))
    assert artifact.epoch == 13 and artifact.symbol_json == SYMBOL


def test_several_checkpoints_serve_the_highest_and_say_so():
    artifact = read_model_tarball(tarball({**GOOD, "image-classification-0002.params": b"older"}), source="s3://b/m.tar.gz")
    assert (artifact.epoch, artifact.params, artifact.checkpoint_epochs) == (13, b"weights", (2, 13))
    assert artifact.notes == ("s3://b/m.tar.gz holds 2 checkpoints (image-classification-0002.params, "
                              "image-classification-0013.params); serving the highest, "
                              "image-classification-0013.params, as SageMaker does",)


FIX = ("pass the model.tar.gz of a SageMaker image-classification training job or of `scones train` "
       "(image-classification-symbol.json, image-classification-NNNN.params and model-shapes.json at the top level)")


@pytest.mark.parametrize("data, message", [
    (b"not a tarball", "model.tar.gz is not a tar.gz archive"),
    (gzip.compress(b"x" * 600), "model.tar.gz is not a tar.gz archive"),
    (tarball({k: v for k, v in GOOD.items() if "symbol" not in k}),
     "model.tar.gz has no image-classification-symbol.json (it holds: image-classification-0013.params, "
     f"model-shapes.json); {FIX}"),
    (tarball({k: v for k, v in GOOD.items() if "params" not in k}),
     "model.tar.gz has no image-classification-NNNN.params (it holds: image-classification-symbol.json, "
     f"model-shapes.json); {FIX}"),
    (tarball({k: v for k, v in GOOD.items() if "shapes" not in k}), "model.tar.gz has no model-shapes.json"),
    (tarball({**GOOD, "../evil.params": b"x"}),
     f"model.tar.gz member '../evil.params' points outside the archive (absolute path or '..'); refusing it: {FIX}"),
    (tarball({**GOOD, "/etc/passwd": b"x"}), "model.tar.gz member '/etc/passwd' points outside the archive"),
    (tarball(GOOD, links={"image-classification-0014.params": "/etc/shadow"}),
     "model.tar.gz member 'image-classification-0014.params' is a link or device, not a regular file"),
    (tarball({**GOOD, "image-classification-symbol.json": b"{not json"}),
     "model.tar.gz: image-classification-symbol.json is not an MXNet symbol"),
    (tarball({**GOOD, "model-shapes.json": b'[{"shape": [1, 32, 32], "name": "data"}]'}),
     "model.tar.gz: model-shapes.json must be [{\"shape\": [batch, 3, height, width], \"name\": \"data\"}]"),
])
def test_malformed_archives_are_refused_with_the_file_and_the_fix(data, message):
    with pytest.raises(ArtifactError) as caught:
        read_model_tarball(data)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(FIX)


def test_metadata_round_trips_and_is_checked():
    metadata = ModelMetadata(class_names=("bicycle", "motorcycle"), job_name="job-1", seed=3,
                             hyperparameters={"num_layers": "20"}, best_epoch=4, best_validation_accuracy=0.9)
    assert ModelMetadata.from_json(metadata.to_json()) == metadata
    with pytest.raises(ArtifactError, match=r'scones-metadata.json needs "class_names": a non-empty list'):
        ModelMetadata.from_json(b'{"class_names": []}')
    with pytest.raises(ArtifactError, match="is not JSON"):
        ModelMetadata.from_json(b"{")




class _Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as read: a member that compresses a thousandfold."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def test_params_larger_than_any_model_are_refused_before_they_are_read(tmp_path):
    size = 600 << 20
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, mode="w:gz", compresslevel=1) as archive:
        for name, body in GOOD.items():
            if not name.endswith(".params"):
                info = tarfile.TarInfo(name)
                info.size = len(body)
                archive.addfile(info, io.BytesIO(body))
        info = tarfile.TarInfo("image-classification-0014.params")
        info.size = size
        archive.addfile(info, io.BufferedReader(_Zeros(size), 1 << 20))
    assert path.stat().st_size < 3 << 20
    call = f"__import__('scones.model_artifact').model_artifact.read_model_tarball(open({str(path)!r}, 'rb').read())"
    assert user_error_under_memory_limit(call) == (
        "ArtifactError: model.tar.gz member 'image-classification-0014.params' declares 629,145,600 bytes, "
        f"over the 536,870,912 a model file can be; {FIX}")


def test_only_the_served_checkpoint_is_kept():
    artifact = read_model_tarball(tarball({**GOOD, "image-classification-0002.params": b"older",
                                           "image-classification-0007.params": b"middle"}))
    assert (artifact.epoch, artifact.params, artifact.checkpoint_epochs) == (13, b"weights", (2, 7, 13))


def test_too_many_entries_are_refused():
    many = {f"notes/{number}.txt": b"" for number in range(1001)}
    with pytest.raises(ArtifactError, match=r"^model\.tar\.gz has over 1000 entries; pass the model\.tar\.gz"):
        read_model_tarball(tarball({**GOOD, **many}))
