"""Reading the CIFAR-100 python archive safely, and choosing classes from it.

The archive (``cifar-100-python.tar.gz``) holds three pickles written by
Python 2: ``train``, ``test`` and ``meta``. Pickles can run code, so they are
read with :class:`CifarUnpickler`, which resolves only the handful of globals a
numpy array needs and refuses everything else, naming the archive member.
Members are read straight from the compressed stream: nothing is extracted.

Nothing is allocated beyond what a real archive needs: each member's declared
size is checked against CIFAR-100's published bounds (50,000 train and 10,000
test rows of 3,072 bytes, 100 fine labels) before it is read, every counted
string in a pickle is read only as far as it exists (never allocated at the
length it claims), and every array a pickle constructs is checked against
the member's bound before numpy allocates it.
"""

from __future__ import annotations

import contextlib
import lzma
import pickle
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Sequence

import numpy as np

from scones.compressed_tar import MAX_TRAILING_BYTES, decompressed, trailing_bytes
from scones.errors import InputError
from scones.images import CIFAR_ROW_BYTES

MEMBERS = ("train", "test", "meta")
ARCHIVE_DIR = "cifar-100-python"
_OFFICIAL = "use the official archive from https://www.cs.toronto.edu/~kriz/cifar.html"

# CIFAR-100's published sizes: the most rows a split holds and the number of fine labels.
SPLIT_ROWS = {"train": 50_000, "test": 10_000}
FINE_LABEL_COUNT = 100
# Per row, beyond its pixels: file name, two labels and pickle framing (about 30 bytes in the
# real archive, whose train member is 155 MB for 153.6 MB of pixels); generous on purpose.
ROW_OVERHEAD_BYTES = 1024
META_MAX_BYTES = 1 << 16  # the real meta member is 1.5 KB
# The official archive has 4 entries (the folder and the three members).
MAX_ENTRIES = 64


def member_limit(member: str) -> int:
    """The most bytes a real ``train``, ``test`` or ``meta`` member can take: its declared size must fit."""
    if member in SPLIT_ROWS:
        return SPLIT_ROWS[member] * (CIFAR_ROW_BYTES + ROW_OVERHEAD_BYTES)
    return META_MAX_BYTES


# The array element kinds a CIFAR pickle holds (bool, ints, floats, byte and text strings): no
# objects or structured records, whose contents numpy would allocate from a shape alone.
_ARRAY_KINDS = "biufSU"


class CifarArchiveError(InputError):
    """The archive is not a usable CIFAR-100 python archive; the message says why and what to do."""


class UnsafePickleError(CifarArchiveError):
    """A pickle in the archive asked for a global outside the CIFAR allow-list."""


class OversizedMemberError(CifarArchiveError):
    """A member (or something inside it) larger than any real CIFAR-100 archive holds."""


def _check_allocation(shape, dtype, *, member: str, limit: int) -> None:
    """Refuse an array of ``shape`` and ``dtype`` that could not come from a ``limit``-byte member."""
    try:
        dims = (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)
        kind, itemsize = np.dtype(dtype).kind, np.dtype(dtype).itemsize
    except (TypeError, ValueError):
        raise CifarArchiveError(f"archive member {member!r} asks for an array of shape {shape!r} and "
                                f"dtype {dtype!r}, which is not an array; {_OFFICIAL}") from None
    if kind not in _ARRAY_KINDS:
        raise UnsafePickleError(f"archive member {member!r} asks for an array of {np.dtype(dtype)} "
                                f"elements, which a CIFAR-100 pickle never holds; {_OFFICIAL}")
    size = itemsize
    for dim in dims:
        size *= max(dim, 0)
    if min(dims, default=0) < 0 or size > limit:
        raise OversizedMemberError(
            f"archive member {member!r} asks for an array of shape {dims} ({size:,} bytes), more than the "
            f"{limit:,} bytes a real CIFAR-100 {member.rsplit('/', 1)[-1]} member holds; {_OFFICIAL}"
        )


class _BoundedNdarray:
    """What a pickle gets for ``numpy.ndarray``: the type, constructed only at sizes the member can hold."""

    def __init__(self, member: str, limit: int):
        self.member, self.limit = member, limit

    def __call__(self, shape, dtype=float, *args, **kwargs):
        _check_allocation(shape, dtype, member=self.member, limit=self.limit)
        return np.ndarray(shape, dtype, *args, **kwargs)

    def reconstruct(self, subtype, shape, dtype):
        """``numpy.core.multiarray._reconstruct``, as numpy pickles every array (then fills it by BUILD)."""
        if subtype is not self:
            raise UnsafePickleError(f"archive member {self.member!r} reconstructs a {subtype!r}, not a numpy "
                                    f"array; {_OFFICIAL}")
        _check_allocation(shape, dtype, member=self.member, limit=self.limit)
        return np.core.multiarray._reconstruct(np.ndarray, shape, dtype)

    def dtype(self, *args, **kwargs):
        made = np.dtype(*args, **kwargs)
        _check_allocation((), made, member=self.member, limit=self.limit)
        return made


class CifarUnpickler(pickle._Unpickler):
    """An unpickler that only reconstructs numpy arrays (of sizes the member can hold) and plain containers."""

    def __init__(self, file: IO[bytes], *, member: str, limit: int):
        super().__init__(file, encoding="bytes")
        self.member = member
        ndarray = _BoundedNdarray(member, limit)
        # Everything a CIFAR pickle may reference. numpy 2 renamed numpy.core to numpy._core;
        # users who re-pickled the data under numpy 2 get those names.
        self.allowed = {
            ("numpy.core.multiarray", "_reconstruct"): ndarray.reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): ndarray.reconstruct,
            ("numpy.core.multiarray", "scalar"): np.core.multiarray.scalar,
            ("numpy._core.multiarray", "scalar"): np.core.multiarray.scalar,
            ("numpy", "ndarray"): ndarray,
            ("numpy", "dtype"): ndarray.dtype,
            # Python 3 writes bytes as _codecs.encode(text, "latin1") under protocol 2.
            ("_codecs", "encode"): __import__("_codecs").encode,
        }

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"archive member {self.member!r} asks to load {module}.{name}, which a CIFAR-100 "
                f"pickle never needs; refusing to unpickle it; {_OFFICIAL}"
            ) from None


@dataclass(frozen=True)
class CifarSplit:
    """One split (train or test): rows of pixels, fine labels and original file names."""

    data: np.ndarray  # (N, 3072) uint8, channel-planar rows
    fine_labels: np.ndarray  # (N,) int64
    filenames: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.filenames)


@dataclass(frozen=True)
class CifarArchive:
    train: CifarSplit
    test: CifarSplit
    fine_label_names: tuple[str, ...]


def _text(value, member: str, where: str) -> str:
    """A byte string (as Python 2 pickled them) or text as text; anything else is an error naming ``where``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes):
        raise CifarArchiveError(f"archive member {member!r}: {where} is {type(value).__name__} {value!r:.60}, "
                                f"not text; {_OFFICIAL}")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CifarArchiveError(f"archive member {member!r}: {where} {value!r:.80} is not UTF-8 ({error.reason} "
                                f"at byte {error.start}); {_OFFICIAL}") from None


def _texts(values, member: str, key: str) -> tuple[str, ...]:
    if not isinstance(values, (list, tuple)):
        raise CifarArchiveError(f"archive member {member!r}: {key!r} must be a list of names, got type "
                                f"{type(values).__name__}; {_OFFICIAL}")
    return tuple(_text(value, member, f"{key}[{position}]") for position, value in enumerate(values))


def is_file_name(name: str) -> bool:
    """Whether ``name`` can be an image's S3 key under its split's prefix and a ``.lst`` path as it is.

    One path component (no ``/``, ``\\``, ``.`` or ``..``), printable (no control,
    format or line-separator characters, which ``.lst`` readers split lines
    on), and no surrounding blanks, which ``.lst`` readers strip.
    """
    return (bool(name) and name.isprintable() and name == name.strip() and name not in (".", "..")
            and "/" not in name and "\\" not in name)


def file_names_from(raw, member: str) -> tuple[str, ...]:
    """The ``filenames`` entry as text, once every name is a usable file name."""
    names = _texts(raw, member, "filenames")
    bad = next((position for position, name in enumerate(names) if not is_file_name(name)), None)
    if bad is not None:
        raise CifarArchiveError(
            f"archive member {member!r}: filenames[{bad}] is {names[bad]!r}, which is not a plain file name "
            f"(one printable path component, no '/', '\\' or '..'); {_OFFICIAL}"
        )
    return names


def _normalise_keys(obj: dict, member: str) -> dict:
    if not isinstance(obj, dict):
        raise CifarArchiveError(f"archive member {member!r} is a {type(obj).__name__}, not a dict")
    return {_text(key, member, "a key"): value for key, value in obj.items()}


def _require(record: dict, key: str, member: str):
    try:
        return record[key]
    except KeyError:
        raise CifarArchiveError(
            f"archive member {member!r} has no {key!r} entry (it has {sorted(record)}); "
            "is this the CIFAR-100 python archive?"
        ) from None


def _is_label(value, label_count: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and 0 <= value < label_count


def fine_labels_from(raw, member: str, label_count: int) -> np.ndarray:
    """The ``fine_labels`` entry as int64, once every label is known to be an integer naming a fine label.

    A label out of range would wrap (-1 is the last class) or size a lookup
    table, and a float would be truncated, so none is converted before all pass.
    """
    values = raw.tolist() if isinstance(raw, np.ndarray) else raw
    if not isinstance(values, (list, tuple)):
        raise CifarArchiveError(f"archive member {member!r}: 'fine_labels' must be a list of integers, "
                                f"got type {type(raw).__name__}; {_OFFICIAL}")
    bad = next((position for position, value in enumerate(values) if not _is_label(value, label_count)), None)
    if bad is not None:
        raise CifarArchiveError(
            f"archive member {member!r}: fine_labels[{bad}] is {values[bad]!r}, but a label must be an integer "
            f"from 0 to {label_count - 1} (one per name in {ARCHIVE_DIR}/meta's fine_label_names); {_OFFICIAL}"
        )
    return np.asarray(values, dtype=np.int64).reshape(len(values))


def split_from_record(record: dict, member: str, *, label_count: int) -> CifarSplit:
    """Check and convert one unpickled ``train``/``test`` dict into a :class:`CifarSplit`.

    ``label_count`` is how many fine label names the archive's meta gives.
    """
    record = _normalise_keys(record, member)
    data = np.asarray(_require(record, "data", member))
    labels = fine_labels_from(_require(record, "fine_labels", member), member, label_count)
    filenames = file_names_from(_require(record, "filenames", member), member)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != CIFAR_ROW_BYTES:
        raise CifarArchiveError(
            f"archive member {member!r}: 'data' must be N x {CIFAR_ROW_BYTES} uint8, "
            f"got {data.shape} {data.dtype}"
        )
    split = member.rsplit("/", 1)[-1]
    if len(data) > SPLIT_ROWS.get(split, len(data)):
        raise CifarArchiveError(f"archive member {member!r} has {len(data):,} rows, more than the {SPLIT_ROWS[split]:,} "
                                f"of CIFAR-100's {split} split; {_OFFICIAL}")
    if not (len(data) == len(labels) == len(filenames)):
        raise CifarArchiveError(
            f"archive member {member!r}: {len(data)} rows, {len(labels)} labels and "
            f"{len(filenames)} file names do not match"
        )
    return CifarSplit(data=data, fine_labels=labels, filenames=filenames)


class _CappedReader:
    """A member's file that never asks for more than ``limit`` bytes in all: ``BufferedReader.read(n)`` allocates n first."""

    def __init__(self, file: IO[bytes], limit: int):
        self.file, self.left = file, limit

    def _take(self, data: bytes) -> bytes:
        self.left -= len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        return self._take(self.file.read(self.left if size is None or size < 0 else min(size, self.left)))

    def readline(self, size: int = -1) -> bytes:
        return self._take(self.file.readline(self.left if size is None or size < 0 else min(size, self.left)))


def unpickle(file: IO[bytes], *, member: str, limit: int | None = None):
    """Unpickle one archive member with the allow-list, building no array over ``limit`` bytes (default: its bound).

    The pure-Python unpickler is used on purpose: the C one allocates a
    counted string at its declared length before reading it, so a few bytes
    claiming gigabytes would allocate gigabytes; this one reads only the bytes
    that are there (and is faster than the C one plus a scan of the lengths).
    """
    limit = member_limit(member.rsplit("/", 1)[-1]) if limit is None else limit
    try:
        return CifarUnpickler(_CappedReader(file, limit + 1), member=member, limit=limit).load()
    except EOFError as error:  # the pure-Python unpickler's is bare; a decompressor's says why
        raise CifarArchiveError(f"archive member {member!r} is truncated ({str(error) or 'it ends before its pickle does'}); "
                                "download the archive again or pass another --source") from None


def _read_members(stream: IO[bytes]) -> dict[str, object]:
    """The unpickled ``train``, ``test`` and ``meta`` members found in a tar stream, each within its bound."""
    found: dict[str, object] = {}
    with tarfile.open(fileobj=stream, mode="r:") as tar:
        for count, info in enumerate(tar, start=1):
            if count > MAX_ENTRIES:
                raise OversizedMemberError(f"it has over {MAX_ENTRIES} entries (the official archive has 4); {_OFFICIAL}")
            member = info.name.rsplit("/", 1)[-1]
            if not info.isfile() or member not in MEMBERS:
                continue
            if info.size > member_limit(member):
                raise OversizedMemberError(
                    f"archive member {info.name!r} declares {info.size:,} bytes, over the "
                    f"{member_limit(member):,} a real CIFAR-100 {member} member holds; {_OFFICIAL}")
            found[member] = unpickle(tar.extractfile(info), member=info.name)
    if trailing_bytes(stream) > MAX_TRAILING_BYTES:
        raise CifarArchiveError(f"it has over {MAX_TRAILING_BYTES:,} bytes after the end of its tar archive; "
                                f"{_OFFICIAL}")
    return found


def read_archive(source: str | Path | IO[bytes], *, name: str | None = None) -> CifarArchive:
    """Read ``train``, ``test`` and ``meta`` from a CIFAR-100 python ``.tar.gz`` without extracting.

    ``source`` is a path or a binary file object; ``name`` is how errors refer
    to it (defaults to the path). The whole stream is read, to its checksum.
    """
    label = name or str(source)
    try:
        with open(source, "rb") if isinstance(source, (str, Path)) else contextlib.nullcontext(source) as raw:
            found = _read_members(decompressed(raw))
    except CifarArchiveError as error:
        raise type(error)(f"{label}: {error}") from None
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError, pickle.UnpicklingError,
            ValueError, TypeError) as error:
        raise CifarArchiveError(
            f"{label} is truncated or not a CIFAR-100 python archive ({type(error).__name__}: "
            f"{error}); download it again or pass another --source"
        ) from error
    missing = [member for member in MEMBERS if member not in found]
    if missing:
        raise CifarArchiveError(
            f"{label} has no {', '.join(f'{ARCHIVE_DIR}/{m}' for m in missing)}; "
            "pass the CIFAR-100 *python* archive (cifar-100-python.tar.gz)"
        )
    meta = _normalise_keys(found["meta"], f"{ARCHIVE_DIR}/meta")
    names = _texts(_require(meta, "fine_label_names", f"{ARCHIVE_DIR}/meta"), f"{ARCHIVE_DIR}/meta", "fine_label_names")
    if not 0 < len(names) <= FINE_LABEL_COUNT:
        raise CifarArchiveError(f"archive member '{ARCHIVE_DIR}/meta' names {len(names)} fine labels; CIFAR-100 has "
                                f"{FINE_LABEL_COUNT}; {_OFFICIAL}")
    return CifarArchive(
        train=split_from_record(found["train"], f"{ARCHIVE_DIR}/train", label_count=len(names)),
        test=split_from_record(found["test"], f"{ARCHIVE_DIR}/test", label_count=len(names)),
        fine_label_names=names,
    )


def fine_label_ids(fine_label_names: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Map class names to fine label ids, in the order given.

    Unknown names are an error listing the valid ones; so is asking for a class twice.
    """
    if not wanted:
        raise InputError("choose at least one class, e.g. --classes bicycle,motorcycle")
    index = {name: position for position, name in enumerate(fine_label_names)}
    unknown = [name for name in wanted if name not in index]
    if unknown:
        raise InputError(
            f"unknown CIFAR-100 class name(s) {', '.join(map(repr, unknown))}; "
            f"valid names are: {', '.join(sorted(index))}"
        )
    duplicates = sorted({name for name in wanted if list(wanted).count(name) > 1})
    if duplicates:
        raise InputError(f"class name(s) given twice: {', '.join(duplicates)}")
    return [index[name] for name in wanted]


def select_rows(split: CifarSplit, label_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``split`` whose fine label is one of ``label_ids``.

    Returns ``(rows, class_ids)``: CIFAR row indices in ascending order, and
    each row's class id, 0.. in the order ``label_ids`` were given.
    """
    lookup = np.full(max(int(split.fine_labels.max(initial=0)), *label_ids) + 1, -1, dtype=np.int64)
    lookup[np.asarray(label_ids, dtype=np.int64)] = np.arange(len(label_ids))
    class_ids = lookup[split.fine_labels]
    rows = np.flatnonzero(class_ids >= 0)
    return rows, class_ids[rows]
