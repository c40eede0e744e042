"""The built-in image-classification algorithm's ``model.tar.gz``: build it, read it, refuse a bad one.

A SageMaker training job of the algorithm uploads
``<output_path>/<job>/output/model.tar.gz`` holding exactly::

    image-classification-symbol.json   the MXNet graph (data → … → softmax)
    image-classification-0013.params   the weights of the best epoch (1-based: Epoch[12] in the log)
    model-shapes.json                  [{"shape": [mini_batch_size, 3, H, W], "name": "data"}]

(one ``.params`` per checkpoint when ``checkpoint_frequency`` is set). The local
backend writes the same three kinds of file and nothing else, so an artifact
moves between the backends unchanged; Scones' own notes (class names,
hyperparameters, metrics, seed, versions) go in ``scones-metadata.json`` *beside*
the tarball, because consumers of the layout (SageMaker Neo's MXNet loader, for
one) treat any other ``.json`` inside as a second symbol file and refuse it.

Pure: bytes in, bytes out; MXNet-specific loading lives in the predictor.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from scones.compressed_tar import MAX_TRAILING_BYTES, decompressed, trailing_bytes
from scones.errors import InputError
from scones.bucket_layout import METADATA_FILE, MODEL_FILE

SYMBOL_FILE = "image-classification-symbol.json"
SHAPES_FILE = "model-shapes.json"
PARAMS_PATTERN = re.compile(r"image-classification-(\d{4,})\.params")
METADATA_FORMAT = "scones-model-metadata/1"
DATA_NAME = "data"
# Sane member sizes, checked against each tar header before the member is read (a few MB of
# gzip can claim gigabytes): weights get twice ResNet-200's ~260 MB, the largest network the
# algorithm builds; the symbol and shapes files are JSON of a few hundred KB at most.
MAX_PARAMS_BYTES = 512 << 20
MAX_JSON_BYTES = 16 << 20
# The algorithm writes 3 files, plus one .params per checkpoint when checkpoint_frequency is set.
MAX_ENTRIES = 1000
# The largest input image a served model may ask for: 2048×2048 RGB float32 is 50 MB per image (the
# algorithm's default is 224×224), so a batch of 32 stays within a few GB.
MAX_INPUT_PIXELS = 2048 * 2048

_FIX = (f"pass the model.tar.gz of a SageMaker image-classification training job or of `scones train` "
        f"({SYMBOL_FILE}, image-classification-NNNN.params and {SHAPES_FILE} at the top level)")


class ArtifactError(InputError):
    """A model.tar.gz (or metadata file) that cannot be served; the message names the file and the fix."""


def params_file(epoch: int) -> str:
    """``image-classification-0013.params`` for checkpoint number 13 (the log's Epoch[12])."""
    return f"image-classification-{epoch:04d}.params"


def model_shapes_json(data_shape: Sequence[int]) -> bytes:
    """``model-shapes.json`` as the algorithm writes it: the bound input, batch first."""
    return json.dumps([{"shape": [int(d) for d in data_shape], "name": DATA_NAME}]).encode()


# ----------------------------------------------------------------------------- build

def build_model_tarball(symbol_json: bytes, checkpoints: Mapping[int, bytes],
                        data_shape: Sequence[int]) -> bytes:
    """The gzip'd tar of the symbol, one ``.params`` per checkpoint number, and the shapes.

    Deterministic: fixed member order, times, owners and modes, so the same
    weights give the same bytes (and the same ETag).
    """
    if not checkpoints:
        raise ArtifactError("a model.tar.gz needs at least one checkpoint's .params")
    members = {SYMBOL_FILE: symbol_json, SHAPES_FILE: model_shapes_json(data_shape)}
    members.update({params_file(epoch): data for epoch, data in checkpoints.items()})
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.USTAR_FORMAT) as archive:
            for name in sorted(members):
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(members[name]), 0, 0o644
                archive.addfile(info, io.BytesIO(members[name]))
    return buffer.getvalue()


# ------------------------------------------------------------------------------ read

@dataclass(frozen=True)
class ModelArtifact:
    """What a predictor needs from a model.tar.gz: the graph, one checkpoint, the input shape."""

    symbol_json: bytes
    params: bytes
    epoch: int  # the checkpoint number in the params file name
    data_shape: tuple[int, ...]  # model-shapes.json's "data": (batch, channels, height, width)
    checkpoint_epochs: tuple[int, ...] = ()  # every checkpoint in the tarball
    notes: tuple[str, ...] = field(default=())  # what the reader chose, for the log

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.data_shape[1:])  # type: ignore[return-value]

    def to_tarball(self) -> bytes:
        """This artifact as a model.tar.gz (its chosen checkpoint only)."""
        return build_model_tarball(self.symbol_json, {self.epoch: self.params}, self.data_shape)


def _member_limit(name: str) -> int:
    """The most bytes a member of ``name`` may declare: weights get room for any ResNet, JSON files little."""
    return MAX_PARAMS_BYTES if PARAMS_PATTERN.fullmatch(name) else MAX_JSON_BYTES


def _checked_name(entry: tarfile.TarInfo, source: str) -> str:
    """The member's normalised name, once its path, type and declared size are known to be sane."""
    name = entry.name[2:] if entry.name.startswith("./") else entry.name
    if name.startswith("/") or ".." in name.split("/"):
        raise ArtifactError(
            f"{source} member {entry.name!r} points outside the archive (absolute path or '..'); refusing it: {_FIX}"
        )
    if not (entry.isfile() or entry.isdir()):
        raise ArtifactError(f"{source} member {entry.name!r} is a link or device, not a regular file; {_FIX}")
    if entry.size > _member_limit(name):
        raise ArtifactError(f"{source} member {entry.name!r} declares {entry.size:,} bytes, over the "
                            f"{_member_limit(name):,} a model file can be; {_FIX}")
    return name


def _wanted_members(data: bytes, source: str) -> tuple[tuple[str, ...], dict[str, bytes]]:
    """Every regular file's name, and the contents of the symbol, the shapes and the highest checkpoint only.

    The archive is streamed: each member's declared size is checked before it
    is read, and other checkpoints are skipped, so memory stays within one
    model's files however many the archive claims.
    """
    names: list[str] = []
    contents: dict[str, bytes] = {}
    best_epoch = -1
    try:
        stream = decompressed(io.BytesIO(data))
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for count, entry in enumerate(archive, start=1):
                if count > MAX_ENTRIES:
                    raise ArtifactError(f"{source} has over {MAX_ENTRIES} entries; {_FIX}")
                name = _checked_name(entry, source)
                if entry.isdir():
                    continue
                if name in names:
                    raise ArtifactError(f"{source} holds {name!r} twice; {_FIX}")
                names.append(name)
                match = PARAMS_PATTERN.fullmatch(name)
                if match and int(match.group(1)) > best_epoch:
                    contents = {key: body for key, body in contents.items() if not PARAMS_PATTERN.fullmatch(key)}
                    best_epoch = int(match.group(1))
                elif name not in (SYMBOL_FILE, SHAPES_FILE):
                    continue
                contents[name] = archive.extractfile(entry).read()
        if trailing_bytes(stream) > MAX_TRAILING_BYTES:
            raise ArtifactError(f"{source} has over {MAX_TRAILING_BYTES:,} bytes after the end of its tar archive; {_FIX}")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise ArtifactError(f"{source} is not a tar.gz archive or is damaged ({error}); {_FIX}") from None
    return tuple(names), contents


def _data_shape(text: bytes, source: str) -> tuple[int, ...]:
    try:
        entries = json.loads(text)
        shape = next(entry["shape"] for entry in entries if entry.get("name") == DATA_NAME)
        shape = tuple(int(d) for d in shape)
    except (ValueError, TypeError, KeyError, StopIteration, AttributeError):
        shape = ()
    if len(shape) != 4 or min(shape) < 1 or shape[1] != 3:
        raise ArtifactError(
            f"{source}: {SHAPES_FILE} must be [{{\"shape\": [batch, 3, height, width], \"name\": \"data\"}}], "
            f"got {text[:200]!r}; {_FIX}"
        )
    if shape[2] * shape[3] > MAX_INPUT_PIXELS:
        raise ArtifactError(
            f"{source}: {SHAPES_FILE} asks for {shape[2]}×{shape[3]} input images, over the "
            f"{MAX_INPUT_PIXELS:,} pixels (2048×2048) a served model may take: one image alone would need "
            f"{3 * 4 * shape[2] * shape[3] / 2**30:,.1f} GiB. Train with a smaller image_shape"
        )
    return shape


def read_model_tarball(data: bytes, *, source: str = MODEL_FILE) -> ModelArtifact:
    """Check and unpack a model.tar.gz; with several checkpoints the highest number is chosen."""
    names, members = _wanted_members(data, source)
    found = ", ".join(sorted(names)) or "nothing"
    if SYMBOL_FILE not in members:
        raise ArtifactError(f"{source} has no {SYMBOL_FILE} (it holds: {found}); {_FIX}")
    try:
        graph = json.loads(members[SYMBOL_FILE])
        if not isinstance(graph, dict) or "nodes" not in graph or "heads" not in graph:
            raise ValueError("no 'nodes' and 'heads'")
    except ValueError as error:
        raise ArtifactError(f"{source}: {SYMBOL_FILE} is not an MXNet symbol ({error}); {_FIX}") from None
    checkpoints = {int(match.group(1)): name for name in names
                   if (match := PARAMS_PATTERN.fullmatch(name))}
    if not checkpoints:
        raise ArtifactError(f"{source} has no image-classification-NNNN.params (it holds: {found}); {_FIX}")
    if SHAPES_FILE not in members:
        raise ArtifactError(f"{source} has no {SHAPES_FILE} (it holds: {found}); {_FIX}")
    epoch = max(checkpoints)
    notes = ()
    if len(checkpoints) > 1:
        notes = (f"{source} holds {len(checkpoints)} checkpoints "
                 f"({', '.join(checkpoints[e] for e in sorted(checkpoints))}); "
                 f"serving the highest, {checkpoints[epoch]}, as SageMaker does",)
    return ModelArtifact(
        symbol_json=members[SYMBOL_FILE],
        params=members[checkpoints[epoch]],
        epoch=epoch,
        data_shape=_data_shape(members[SHAPES_FILE], source),
        checkpoint_epochs=tuple(sorted(checkpoints)),
        notes=notes,
    )


# -------------------------------------------------------------------------- metadata

@dataclass(frozen=True)
class ModelMetadata:
    """Scones' notes about a model, stored beside its model.tar.gz; every field but class_names optional."""

    class_names: tuple[str, ...]
    job_name: str | None = None
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    metrics: tuple[Mapping[str, Any], ...] = ()
    best_epoch: int | None = None
    best_validation_accuracy: float | None = None
    seed: int | None = None
    versions: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> bytes:
        body = {"format": METADATA_FORMAT, "class_names": list(self.class_names), "job_name": self.job_name,
                "hyperparameters": dict(self.hyperparameters), "metrics": [dict(m) for m in self.metrics],
                "best_epoch": self.best_epoch, "best_validation_accuracy": self.best_validation_accuracy,
                "seed": self.seed, "versions": dict(self.versions)}
        return json.dumps(body, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes, *, source: str = METADATA_FILE) -> "ModelMetadata":
        try:
            body = json.loads(data)
        except ValueError as error:
            raise ArtifactError(f"{source} is not JSON ({error}); delete it or rewrite it with `scones train`") from None
        names = body.get("class_names") if isinstance(body, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ArtifactError(f"{source} needs \"class_names\": a non-empty list of names, got {names!r}")
        return cls(
            class_names=tuple(names),
            job_name=body.get("job_name"),
            hyperparameters=dict(body.get("hyperparameters") or {}),
            metrics=tuple(body.get("metrics") or ()),
            best_epoch=body.get("best_epoch"),
            best_validation_accuracy=body.get("best_validation_accuracy"),
            seed=body.get("seed"),
            versions=dict(body.get("versions") or {}),
        )
