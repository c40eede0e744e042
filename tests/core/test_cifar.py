"""Reading CIFAR-100 archives: exact content, safe unpickling, clear refusals."""

import gzip
import os
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .cifar_archives import archive_with_members
from .memory_limit import user_error_under_memory_limit
from scones.cifar import (
    CifarArchiveError,
    UnsafePickleError,
    fine_label_ids,
    read_archive,
    select_rows,
    split_from_record,
    unpickle,
)
from scones.synthetic_cifar import FINE_LABEL_NAMES, python2_pickle, split_record, synthetic_split, write_cifar_archive


@pytest.fixture
def archive(tmp_path):
    train = synthetic_split([8, 48, 3, 8, 48, 99], seed=1)
    test = synthetic_split([48, 8, 0], seed=2)
    return write_cifar_archive(tmp_path / "cifar-100-python.tar.gz", train, test), train, test


def test_reads_exact_pixels_labels_and_names(archive):
    path, train, test = archive
    loaded = read_archive(path)
    assert np.array_equal(loaded.train.data, train.data)
    assert loaded.train.fine_labels.tolist() == [8, 48, 3, 8, 48, 99]
    assert loaded.test.filenames == tuple(test.filenames)
    assert loaded.fine_label_names[8] == "bicycle" and loaded.fine_label_names[48] == "motorcycle"


def test_pickles_are_python2_style():
    payload = python2_pickle(split_record(synthetic_split([8], seed=0), "training batch 1 of 1"))
    assert payload.startswith(b"\x80\x02")
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in payload
    assert b"U\x0bfine_labels" in payload  # SHORT_BINSTRING key, as Python 2 wrote it
    raw = unpickle(__import__("io").BytesIO(payload), member="train")
    assert b"fine_labels" in raw  # byte-string keys


def test_python3_pickles_with_str_keys_are_accepted(tmp_path):
    split = synthetic_split([8, 48], seed=3)
    record = {k.decode(): v for k, v in split_record(split, "x").items()}
    meta = {"fine_label_names": FINE_LABEL_NAMES}
    path = archive_with_members(tmp_path / "a.tar.gz", {
        "train": pickle.dumps(record, protocol=4),
        "test": pickle.dumps(record, protocol=2),  # protocol 2 from Python 3 uses _codecs.encode
        "meta": pickle.dumps(meta, protocol=4),
    })
    loaded = read_archive(path)
    assert np.array_equal(loaded.test.data, split.data)
    assert loaded.train.filenames == tuple(split.filenames)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = archive_with_members(tmp_path / "evil.tar.gz", {
        "train": pickle.dumps({b"data": _RunsCode(marker)}, protocol=2),
    })
    with pytest.raises(UnsafePickleError) as caught:
        read_archive(path)
    message = str(caught.value)
    assert "cifar-100-python/train" in message
    assert "posix.system" in message or "os.system" in message
    assert str(path) in message
    assert not marker.exists()


def test_truncated_archive(archive, tmp_path):
    path = archive[0]
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert _refusal(truncated) == (
        f"{truncated}: archive member 'cifar-100-python/train' is truncated (Compressed file ended before the "
        "end-of-stream marker was reached); download the archive again or pass another --source")


def test_not_an_archive(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(CifarArchiveError, match="download it again or pass another --source"):
        read_archive(path)


def test_missing_member_is_named(tmp_path):
    path = write_cifar_archive(tmp_path / "a.tar.gz", synthetic_split([8], seed=1),
                               synthetic_split([8], seed=2), members=("train", "test"))
    with pytest.raises(CifarArchiveError, match=r"has no cifar-100-python/meta; pass the CIFAR-100 \*python\* archive"):
        read_archive(path)


def test_wrong_shapes_are_refused():
    record = {b"data": np.zeros((2, 10), np.uint8), b"fine_labels": [1, 2], b"filenames": [b"a", b"b"]}
    with pytest.raises(CifarArchiveError, match=r"'data' must be N x 3072 uint8, got \(2, 10\) uint8"):
        split_from_record(record, "cifar-100-python/train", label_count=100)
    record = {b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [1], b"filenames": [b"a", b"b"]}
    with pytest.raises(CifarArchiveError, match="2 rows, 1 labels and 2 file names do not match"):
        split_from_record(record, "cifar-100-python/train", label_count=100)


def test_unknown_class_names_list_the_valid_ones():
    with pytest.raises(ValueError) as caught:
        fine_label_ids(FINE_LABEL_NAMES, ["bicycle", "unicorn"])
    assert "unknown CIFAR-100 class name(s) 'unicorn'" in str(caught.value)
    assert "bicycle, bottle, bowl" in str(caught.value)


def test_default_classes_are_8_and_48():
    assert fine_label_ids(FINE_LABEL_NAMES, ["bicycle", "motorcycle"]) == [8, 48]
    assert fine_label_ids(FINE_LABEL_NAMES, ["motorcycle", "bicycle"]) == [48, 8]


@settings(max_examples=60)
@given(labels=st.lists(st.integers(0, 99), max_size=60),
       wanted=st.lists(st.integers(0, 99), min_size=1, max_size=5, unique=True))
def test_select_rows_matches_a_plain_filter(labels, wanted):
    split = synthetic_split(labels, seed=0)
    from scones.cifar import CifarSplit

    split = CifarSplit(split.data, np.asarray(labels, dtype=np.int64), tuple(split.filenames))
    rows, classes = select_rows(split, wanted)
    expected = [(row, wanted.index(label)) for row, label in enumerate(labels) if label in wanted]
    assert list(zip(rows.tolist(), classes.tolist())) == expected


# ------------------------------------------------------------------ memory bounded by a real archive

def _tar_declaring(path, name: str, declared: int, body: bytes):
    """A .tar.gz whose one member's header declares ``declared`` bytes but holds only ``body``."""
    import tarfile

    header = tarfile.TarInfo(f"cifar-100-python/{name}")
    header.size = declared
    with gzip.open(path, "wb") as out:
        out.write(header.tobuf(format=tarfile.USTAR_FORMAT) + body)
    return path


def _read_bounded(path) -> str:
    return user_error_under_memory_limit(f"__import__('scones.cifar').cifar.read_archive({str(path)!r})")


def test_member_declaring_gigabytes_is_refused_before_it_is_read(tmp_path):
    body = b"\x80\x02}U\x04dataT" + (2_150_000_000).to_bytes(4, "little") + bytes(1 << 20)
    path = _tar_declaring(tmp_path / "bomb.tar.gz", "train", 2_150_000_000 + 12, body)
    assert _read_bounded(path) == (
        f"OversizedMemberError: {path}: archive member 'cifar-100-python/train' declares 2,150,000,012 bytes, "
        "over the 204,800,000 a real CIFAR-100 train member holds; use the official archive from "
        "https://www.cs.toronto.edu/~kriz/cifar.html")


def test_string_claiming_more_than_the_member_holds_is_never_allocated(tmp_path):
    path = archive_with_members(tmp_path / "a.tar.gz", {"train": b"\x80\x02}U\x04dataT" + (2_000_000_000).to_bytes(4, "little")})
    assert _read_bounded(path) == (
        f"CifarArchiveError: {path}: archive member 'cifar-100-python/train' is truncated (it ends before its "
        "pickle does); download the archive again or pass another --source")


class _Calls:
    """Pickles as ``function(*args)``: how a hostile pickle asks numpy for an array."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.mark.parametrize("request_, shape, size", [
    (_Calls(np.ndarray, (10**7, 3072)), "(10000000, 3072)", "245,760,000,000"),
    (_Calls(np.core.multiarray._reconstruct, np.ndarray, (2**40,), b"b"), "(1099511627776,)", "1,099,511,627,776"),
])
def test_arrays_larger_than_the_member_are_refused_before_numpy_allocates(tmp_path, request_, shape, size):
    payload = pickle.dumps({b"data": request_}, protocol=2)
    assert len(payload) < 40_000
    path = archive_with_members(tmp_path / "a.tar.gz", {"train": payload})
    assert _read_bounded(path) == (
        f"OversizedMemberError: {path}: archive member 'cifar-100-python/train' asks for an array of shape "
        f"{shape} ({size} bytes), more than the 204,800,000 bytes a real CIFAR-100 train member holds; "
        "use the official archive from https://www.cs.toronto.edu/~kriz/cifar.html")


def test_object_arrays_are_refused():
    payload = pickle.dumps({b"data": np.array([None, 1], dtype=object)}, protocol=2)
    with pytest.raises(UnsafePickleError, match=r"'cifar-100-python/test' asks for an array of object elements"):
        unpickle(__import__("io").BytesIO(payload), member="cifar-100-python/test")


# ------------------------------------------------------------------------------------- labels

def _archive_with_train_entry(path, key: bytes, values):
    """A well-formed archive whose train member's ``key`` entry is ``values`` (one per row)."""
    record = split_record(synthetic_split([8] * len(values), seed=1), "training batch 1 of 1")
    record[key] = values
    good = split_record(synthetic_split([8, 48], seed=2), "testing batch 1 of 1")
    return archive_with_members(path, {
        "train": pickle.dumps(record, protocol=2), "test": pickle.dumps(good, protocol=2),
        "meta": pickle.dumps({b"fine_label_names": FINE_LABEL_NAMES}, protocol=2),
    })


def _refusal(path) -> str:
    """The message of the CifarArchiveError reading ``path`` raises."""
    with pytest.raises(CifarArchiveError) as caught:
        read_archive(path)
    return str(caught.value)


def _archive_with_train_labels(path, labels):
    return _archive_with_train_entry(path, b"fine_labels", labels)


@pytest.mark.parametrize("bad", [-1, 8.7, 300_000_000, 10**11, 2**70, None, True, "8", np.float64(8.0)])
def test_labels_must_be_integers_naming_a_fine_label(tmp_path, bad):
    assert _refusal(_archive_with_train_labels(tmp_path / "a.tar.gz", [8, 48, bad])) == (
        f"archive member 'cifar-100-python/train': fine_labels[2] is {bad!r}, but a label must be an integer "
        "from 0 to 99 (one per name in cifar-100-python/meta's fine_label_names); use the official archive "
        "from https://www.cs.toronto.edu/~kriz/cifar.html")


def test_labels_as_a_numpy_array_are_accepted_and_checked(tmp_path):
    path = _archive_with_train_labels(tmp_path / "a.tar.gz", np.array([8, 48, 99], dtype=np.int16))
    assert read_archive(path).train.fine_labels.tolist() == [8, 48, 99]
    path = _archive_with_train_labels(tmp_path / "b.tar.gz", np.array([8.0, 48.0, 99.5]))
    with pytest.raises(CifarArchiveError, match=r"fine_labels\[0\] is 8\.0, but a label must be an integer"):
        read_archive(path)


def test_more_rows_than_the_split_has_are_refused():
    record = {b"data": np.zeros((10_001, 3072), np.uint8), b"fine_labels": [8] * 10_001,
              b"filenames": [f"{row}.png" for row in range(10_001)]}
    with pytest.raises(CifarArchiveError, match=r"^archive member 'cifar-100-python/test' has 10,001 rows, more than "
                                                r"the 10,000 of CIFAR-100's test split; use the official archive"):
        split_from_record(record, "cifar-100-python/test", label_count=100)


@pytest.mark.parametrize("names", [[], [f"class_{n}" for n in range(101)]])
def test_meta_must_name_at_most_cifars_fine_labels(tmp_path, names):
    path = write_cifar_archive(tmp_path / "a.tar.gz", synthetic_split([0], seed=1), synthetic_split([0], seed=2),
                               fine_label_names=names)
    assert _refusal(path) == (f"archive member 'cifar-100-python/meta' names {len(names)} fine labels; CIFAR-100 has "
                              "100; use the official archive from https://www.cs.toronto.edu/~kriz/cifar.html")


def test_labels_that_are_not_a_list_are_refused():
    record = {b"data": np.zeros((1, 3072), np.uint8), b"fine_labels": 8, b"filenames": [b"a.png"]}
    with pytest.raises(CifarArchiveError, match=r"^archive member 'x': 'fine_labels' must be a list of integers, got type int"):
        split_from_record(record, "x", label_count=100)


# --------------------------------------------------------------------------------- file names

def _archive_with_train_names(path, names):
    return _archive_with_train_entry(path, b"filenames", names)


@pytest.mark.parametrize("bad", ["bike\u2028_s_1.png", "../../etc/bike.png", "a/b.png", "a\\b.png", "..", "",
                                 " bike.png", "bike\t1.png", "bike\n.png", "bike\x85.png", "bike\u200b.png"])
def test_file_names_must_be_plain_printable_components(tmp_path, bad):
    assert _refusal(_archive_with_train_names(tmp_path / "a.tar.gz", ["bicycle_s_1.png", bad])) == (
        f"archive member 'cifar-100-python/train': filenames[1] is {bad!r}, which is not a plain file name "
        "(one printable path component, no '/', '\\' or '..'); use the official archive from "
        "https://www.cs.toronto.edu/~kriz/cifar.html")


def test_names_that_are_not_utf8_name_the_member_and_position(tmp_path):
    assert _refusal(_archive_with_train_names(tmp_path / "a.tar.gz", [b"ok.png", b"caf\xe9.png"])) == (
        "archive member 'cifar-100-python/train': filenames[1] b'caf\\xe9.png' is not UTF-8 (invalid "
        "continuation byte at byte 3); use the official archive from https://www.cs.toronto.edu/~kriz/cifar.html")


def test_unicode_names_that_are_plain_are_kept(tmp_path):
    path = _archive_with_train_names(tmp_path / "a.tar.gz", ["vélo_s_1.png", "bike 2.png"])
    assert read_archive(path).train.filenames == ("vélo_s_1.png", "bike 2.png")


# ------------------------------------------------------------------------- truncated downloads

def test_gzip_missing_its_trailer_is_truncated(archive, tmp_path):
    whole = archive[0].read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[:-8])  # the CRC-32 and length that end a gzip stream
    assert _refusal(cut) == (
        f"{cut} is truncated or not a CIFAR-100 python archive (EOFError: Compressed file ended before the "
        "end-of-stream marker was reached); download it again or pass another --source")


def test_gzip_with_a_wrong_checksum_is_refused(archive, tmp_path):
    whole = bytearray(archive[0].read_bytes())
    whole[-8] ^= 0xFF
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(bytes(whole))
    with pytest.raises(CifarArchiveError, match=r"bad\.tar\.gz is truncated or not a CIFAR-100 python archive "
                                                r"\(BadGzipFile: CRC check failed"):
        read_archive(bad)


@pytest.mark.parametrize("compression", ["bz2", "xz", ""])
def test_other_compressions_and_file_objects_are_read_to_their_end(archive, tmp_path, compression):
    import tarfile

    path = tmp_path / f"a.tar.{compression}"
    with tarfile.open(archive[0]) as source, tarfile.open(path, f"w:{compression}") as target:
        for info in source:
            target.addfile(info, source.extractfile(info) if info.isfile() else None)
    with open(path, "rb") as handle:
        assert read_archive(__import__("io").BytesIO(handle.read()), name="upload").train.fine_labels.tolist() == \
            archive[1].fine_labels
    if compression:
        path.write_bytes(path.read_bytes()[:-4])
        with pytest.raises(CifarArchiveError, match=r"is truncated or not a CIFAR-100 python archive \(EOFError"):
            read_archive(path)


def test_data_far_beyond_the_tar_end_is_refused(archive, tmp_path):
    path = tmp_path / "padded.tar.gz"
    path.write_bytes(archive[0].read_bytes() + gzip.compress(bytes(2 << 20)))
    with pytest.raises(CifarArchiveError, match=r"padded\.tar\.gz: it has over 1,048,576 bytes after the end of its tar"):
        read_archive(path)
