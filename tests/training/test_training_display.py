"""What `scones train` shows: one live bar per epoch with the metric lines printed cleanly above it."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.console import Console

from scones import terminal
from scones.backends.local.training import LabelledImages, train_network

from .synthetic_data import synthetic_image, tiny_hyperparameters

ERASE_LINE = "\x1b[2K"
CONTROL = re.compile(r"(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)")


def screen(output: str) -> list[str]:
    """The lines a terminal shows after ``output``: the few controls rich's live display uses."""
    rows, row = [""], 0
    for piece in CONTROL.split(output):
        if piece == "\n":
            row += 1
            rows += [""] * (row + 1 - len(rows))
        elif piece in ("\r", ERASE_LINE):
            rows[row] = "" if piece == ERASE_LINE else rows[row]
        elif piece == "\x1b[1A":
            row -= 1
        elif not CONTROL.fullmatch(piece or "x"):
            rows[row] += piece
    return [line for line in rows if line]


def tiny_channel(count: int = 16) -> LabelledImages:
    rng = np.random.RandomState(0)
    labels = np.arange(count) % 2
    return LabelledImages(np.stack([synthetic_image(int(label), rng) for label in labels]), labels)


def train_on(console: Console, monkeypatch, epochs: int = 2) -> str:
    monkeypatch.setattr(terminal, "console", console)
    data = tiny_channel()
    train_network(data, data, tiny_hyperparameters(epochs=epochs), seed=0, log=console.print)
    return console.file.getvalue()


def algorithm_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith(("Epoch[", "Storing"))]


def test_on_a_terminal_each_log_line_starts_its_own_cleared_line(monkeypatch):
    output = train_on(Console(file=io.StringIO(), force_terminal=True, width=100, highlight=False), monkeypatch)
    lines = re.findall(r"(.{0,6})(Epoch\[\d\] [^\r\n]*)", output)
    assert len(lines) == 6  # Train-accuracy, Time cost, Validation-accuracy for each of 2 epochs
    for before, line in lines:
        assert before.endswith(("\r" + ERASE_LINE, "\n")), f"{line!r} glued onto {before!r}"
    # One bar, reset per epoch and gone at the end: the screen holds the algorithm's lines only.
    shown = screen(output)
    assert shown == algorithm_lines(shown) and len(shown) >= 6


def test_piped_output_is_just_the_algorithms_lines(monkeypatch):
    output = train_on(Console(file=io.StringIO(), force_terminal=False, width=100, highlight=False), monkeypatch)
    assert "\x1b" not in output and "\r" not in output
    assert output.splitlines() == algorithm_lines(output.splitlines())
    assert [line.split("=")[0] for line in output.splitlines() if line.startswith("Epoch[0]")] == [
        "Epoch[0] Train-accuracy", "Epoch[0] Time cost", "Epoch[0] Validation-accuracy"]
