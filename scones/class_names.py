"""Class names: the one rule for naming a class id, whoever shows it.

Staging records the names (``classes.json``), the model carries them in its
metadata; a class nobody named is ``class_N``, the id as the ``.lst`` files
give it, the same in the model, the execution table and the monitoring report.
"""

from __future__ import annotations

from typing import Sequence

# The course's two classes (CIFAR-100 fine labels 8 and 48), in class-id order.
DEFAULT_CLASSES = ("bicycle", "motorcycle")


def default_class_names(count: int) -> tuple[str, ...]:
    """Names for classes nobody named: ``class_0``, ``class_1``, …"""
    return tuple(f"class_{class_id}" for class_id in range(count))


def class_name(class_names: Sequence[str] | None, class_id: int) -> str:
    """The name of ``class_id`` from ``class_names`` when it names it, else ``class_N``."""
    if class_names is not None and 0 <= class_id < len(class_names):
        return class_names[class_id]
    return f"class_{class_id}"
