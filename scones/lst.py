"""SageMaker ``.lst`` files: ``index<TAB>label<TAB>relative/path`` per line.

The built-in image-classification algorithm pairs each channel (``train``,
``validation``) with a listing channel. Paths are relative to the image
channel's prefix, so the course's lines read ``16\\t0\\tbike_s_000682.png``:
the CIFAR row, the class id, the bare file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from scones.errors import InputError


class LstFormatError(InputError):
    """A ``.lst`` line that SageMaker would refuse."""


@dataclass(frozen=True)
class LstEntry:
    index: int
    label: int
    path: str


def format_lst(entries: Iterable[LstEntry]) -> str:
    """Render entries as a ``.lst`` text, one line each, newline-terminated."""
    lines = []
    for entry in entries:
        if "\t" in entry.path or "\n" in entry.path or not entry.path:
            raise LstFormatError(f"a .lst path must be non-empty without tabs or newlines: {entry.path!r}")
        lines.append(f"{entry.index}\t{entry.label}\t{entry.path}\n")
    return "".join(lines)


def parse_lst(text: str, *, source: str = "<lst>") -> list[LstEntry]:
    """Parse a ``.lst`` text; a bad line is an error naming ``source`` and the line number.

    Labels may be written as integers or as floats (``1.000000``), as SageMaker
    accepts both; they must denote whole class ids.
    """
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise LstFormatError(
                f"{source}:{number}: expected 'index<TAB>label<TAB>path', got {line!r}"
            )
        index_text, label_text, path = fields
        try:
            index = int(index_text)
            label_value = float(label_text)
        except ValueError:
            raise LstFormatError(
                f"{source}:{number}: index and label must be numbers, got {line!r}"
            ) from None
        if not label_value.is_integer() or label_value < 0:
            raise LstFormatError(f"{source}:{number}: label must be a class id 0, 1, …, got {label_text!r}")
        entries.append(LstEntry(index=index, label=int(label_value), path=path.strip()))
    return entries
