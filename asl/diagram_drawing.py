"""Drawing a laid-out workflow graph as SVG, PNG or an HTML page, with matplotlib.

matplotlib is what the project already draws its monitoring figures with, and
it writes both SVG and PNG with no system binary. With an execution's state
outcomes, each box is coloured as the console colours it (succeeded green,
failed red, caught orange, cancelled grey, not reached white) and a failed
state shows its error under its name.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Mapping

from .diagram import END, START, Arrow, Box, Region
from .state_outcomes import CANCELLED, CAUGHT, FAILED, IN_PROGRESS, NOT_REACHED, SUCCEEDED, StateOutcome

FORMATS = (".svg", ".png", ".html")
MARGIN = 20
DPI = 100
LABEL_CHAR_WIDTH = 6.2  # a 7 pt label character, in pixels at DPI

# (fill, border) per outcome; None: drawn without an execution.
COLOURS = {
    None: ("#ffffff", "#545b64"),
    SUCCEEDED: ("#e9f5e1", "#1d8102"),
    FAILED: ("#fde7e9", "#d13212"),
    CAUGHT: ("#fff2e0", "#ec7211"),
    CANCELLED: ("#eaeded", "#687078"),
    IN_PROGRESS: ("#e6f2fb", "#0073bb"),
    NOT_REACHED: ("#ffffff", "#aab7b8"),
}
LEGEND = (SUCCEEDED, FAILED, CAUGHT, CANCELLED, NOT_REACHED)


def outcome_of(box: Box, outcomes: Mapping[str, StateOutcome] | None) -> StateOutcome | None:
    """A box's outcome in the execution; Start and End follow the run, unvisited states are not reached."""
    if outcomes is None:
        return None
    if box.kind == START:
        return StateOutcome(SUCCEEDED)
    if box.kind == END:
        statuses = {outcome.status for outcome in outcomes.values()}
        return StateOutcome(NOT_REACHED if FAILED in statuses or IN_PROGRESS in statuses else SUCCEEDED)
    return outcomes.get(box.name, StateOutcome(NOT_REACHED))


def render(region: Region, suffix: str, *, outcomes: Mapping[str, StateOutcome] | None = None,
           title: str = "") -> bytes:
    """The graph as the bytes of an ``.svg``, ``.png`` or ``.html`` file."""
    if suffix not in FORMATS:
        raise ValueError(f"cannot draw a graph as '{suffix}': name the output file .svg, .png or .html")
    if suffix == ".html":
        return page(region, outcomes=outcomes, title=title).encode("utf-8")
    from matplotlib import rc_context

    figure = _figure(region, outcomes)
    buffer = io.BytesIO()
    # Text stays text in SVG (searchable, selectable in the HTML page); fixed ids give the same bytes each time.
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "scones"}):
        figure.savefig(buffer, format=suffix[1:], dpi=DPI, metadata=_metadata(suffix))
    return buffer.getvalue()


def write(region: Region, path: str | Path, *, outcomes: Mapping[str, StateOutcome] | None = None,
          title: str = "") -> Path:
    """Write the drawing to ``path`` in the format its suffix names; nothing is left half-written."""
    path = Path(path)
    data = render(region, path.suffix.lower(), outcomes=outcomes, title=title)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def page(region: Region, *, outcomes: Mapping[str, StateOutcome] | None = None, title: str = "") -> str:
    """An HTML page with the SVG inline and, for an execution, the legend and the failed states' errors."""
    svg = render(region, ".svg", outcomes=outcomes).decode("utf-8")
    svg = svg[svg.index("<svg"):]  # inline: no XML declaration or DOCTYPE
    legend = ""
    if outcomes is not None:
        items = "".join(
            f'<li><span style="background:{COLOURS[status][0]};border-color:{COLOURS[status][1]}"></span>'
            f"{html.escape(status)}</li>" for status in LEGEND)
        errors = "".join(
            f"<li><b>{html.escape(name)}</b>: {html.escape(outcome.error or '')}"
            f"{' — ' + html.escape(outcome.cause) if outcome.cause else ''}</li>"
            for name, outcome in outcomes.items() if outcome.status in (FAILED, CAUGHT))
        legend = f'<ul class="legend">{items}</ul>' + (f'<ul class="errors">{errors}</ul>' if errors else "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title or 'Workflow graph')}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #16191f; }}
.legend {{ list-style: none; padding: 0; display: flex; gap: 1.5em; }}
.legend span {{ display: inline-block; width: 1em; height: 1em; border: 2px solid; margin-right: .4em;
  vertical-align: middle; border-radius: 3px; }}
.errors li {{ margin: .3em 0; word-break: break-word; }}
</style></head><body>
<h1>{html.escape(title or 'Workflow graph')}</h1>
{legend}
{svg}
</body></html>
"""


def _metadata(suffix: str) -> dict:
    """No dates or versions in the file: the same graph gives the same bytes."""
    return {"Date": None, "Creator": None} if suffix == ".svg" else {"Software": None}


def _figure(region: Region, outcomes):
    from matplotlib.figure import Figure

    left, right = _horizontal_extent(region)
    width, height = right - left + 2 * MARGIN, region.height + 2 * MARGIN
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(left - MARGIN, right + MARGIN)
    axes.set_ylim(region.height + MARGIN, -MARGIN)
    axes.set_axis_off()
    for box in _frames_first(region):
        _draw_box(axes, box, outcome_of(box, outcomes))
    for arrow in region.all_arrows():
        _draw_arrow(axes, arrow)
    return figure


def _horizontal_extent(region: Region) -> tuple[float, float]:
    """From the leftmost to the rightmost thing drawn, edge labels included."""
    left, right = 0.0, region.width
    for arrow in region.all_arrows():
        if arrow.label:
            x, _ = _midpoint(arrow.points)
            half = len(arrow.label) * LABEL_CHAR_WIDTH / 2 + 4
            left, right = min(left, x - half), max(right, x + half)
    return left, right


def _frames_first(region: Region) -> list[Box]:
    """Frames before the boxes they hold, so the inner boxes are painted over them."""
    return sorted(region.all_boxes(), key=lambda box: box.path.count("/"))


def _draw_box(axes, box: Box, outcome: StateOutcome | None) -> None:
    from matplotlib.patches import FancyBboxPatch

    fill, border = COLOURS[outcome.status if outcome else None]
    rounding = box.height / 2 if box.kind in (START, END) else 6
    axes.add_patch(FancyBboxPatch(
        (box.x, box.y), box.width, box.height, boxstyle=f"round,pad=0,rounding_size={rounding}",
        facecolor=fill, edgecolor=border, linewidth=2 if outcome and outcome.status != NOT_REACHED else 1.2,
        linestyle="--" if box.is_frame else "-", zorder=1 + box.path.count("/")))
    layer = 2 + box.path.count("/")
    centre = box.x + box.width / 2
    if box.kind in (START, END):
        axes.text(centre, box.y + box.height / 2, box.name, ha="center", va="center", fontsize=9, zorder=layer,
                  parse_math=False)
        return
    name_y = box.y + (14 if box.is_frame else 17)
    axes.text(centre, name_y, box.name, ha="center", va="center", fontsize=9, fontweight="bold", zorder=layer,
              parse_math=False)
    note = box.subtitle
    if outcome and outcome.status in (FAILED, CAUGHT) and outcome.error:
        note = outcome.error  # the colour says failed or caught; layout(notes=error_notes(...)) made room
    axes.text(centre, name_y + 15, _clip(note, box.width), ha="center", va="center", fontsize=8,
              color=border if note != box.subtitle else "#545b64", zorder=layer, parse_math=False)


def _draw_arrow(axes, arrow: Arrow) -> None:
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as CurvePath

    colour = "#ec7211" if arrow.dashed else "#545b64"
    axes.add_patch(FancyArrowPatch(
        path=CurvePath(arrow.points), arrowstyle="-|>,head_length=6,head_width=3", color=colour,
        linewidth=1.2, linestyle=(0, (4, 3)) if arrow.dashed else "-", zorder=20))
    if arrow.label:
        x, y = _midpoint(arrow.points)
        axes.text(x, y, arrow.label, ha="center", va="center", fontsize=7, color=colour, zorder=21, parse_math=False,
                  bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"})


def _midpoint(points) -> tuple[float, float]:
    """The point halfway along a polyline."""
    lengths = [((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 for (x0, y0), (x1, y1) in zip(points, points[1:])]
    remaining = sum(lengths) / 2
    for ((x0, y0), (x1, y1)), length in zip(zip(points, points[1:]), lengths):
        if remaining <= length and length > 0:
            share = remaining / length
            return x0 + (x1 - x0) * share, y0 + (y1 - y0) * share
        remaining -= length
    return points[-1]


def _clip(text: str, width: float) -> str:
    fits = max(int((width - 12) / 5.6), 4)
    return text if len(text) <= fits else text[: fits - 1] + "…"

