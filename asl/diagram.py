"""The workflow graph of a definition, laid out the way the Step Functions console draws it.

States are boxes with their name and what the console calls their type
("Lambda: Invoke", "Choice", "Map"); transitions are arrows: ``Next`` plain,
each Choice Rule labelled with its condition, ``Default`` labelled so,
``Catch`` dashed and labelled with its ``ErrorEquals``. A Map's
``ItemProcessor`` and each of a Parallel's ``Branches`` are drawn inside the
state's box, which becomes a frame. The whole machine starts at a Start pill
and every terminal state leads to an End pill.

The layout is pure (no drawing, no I/O): grandalf's Sugiyama layering, the
algorithm behind Graphviz's ``dot``, in pure Python, so no system binary is
needed. Coordinates are pixels, y downwards, origin at the top left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout
from grandalf.routing import route_with_lines

START, END = "Start", "End"
NEXT, CHOICE, DEFAULT, CATCH = "next", "choice", "default", "catch"

BOX_HEIGHT = 46
PILL_HEIGHT = 28
CHAR_WIDTH = 7.4  # average width of a 12 px DejaVu Sans character, bold names included
MIN_BOX_WIDTH = 130
FRAME_HEADER = 40
FRAME_PADDING = 16
BRANCH_GAP = 28
LAYER_GAP = 54
SIBLING_GAP = 40
LABEL_MAX = 42

# How the console names a service in "Service: Action" subtitles.
SERVICE_NAMES = {
    "lambda": "Lambda", "s3": "S3", "sagemaker": "SageMaker", "dynamodb": "DynamoDB", "sns": "SNS",
    "sqs": "SQS", "states": "Step Functions", "ecs": "ECS", "glue": "Glue", "batch": "Batch",
    "events": "EventBridge", "athena": "Athena", "bedrock": "Bedrock", "eks": "EKS", "emr": "EMR",
    "cloudwatch": "CloudWatch", "apigateway": "API Gateway", "codebuild": "CodeBuild",
}

# Choice Rule comparison operators, written as the console's rule builder shows them.
OPERATORS = {
    "Equals": "==", "LessThan": "<", "GreaterThan": ">", "LessThanEquals": "<=", "GreaterThanEquals": ">=",
}


@dataclass(frozen=True)
class Box:
    """A state (or the Start/End pill) placed on the page: ``x``, ``y`` is its top left corner."""

    name: str
    kind: str  # the state's Type, or "Start" / "End"
    subtitle: str
    x: float
    y: float
    width: float
    height: float
    path: str  # where the state sits: "Map/Inner" for a state inside the Map "Map"
    regions: tuple["Region", ...] = ()  # a Map's processor or a Parallel's branches, drawn inside the box

    @property
    def is_frame(self) -> bool:
        return bool(self.regions)

    def overlaps(self, other: "Box") -> bool:
        return (self.x < other.x + other.width and other.x < self.x + self.width
                and self.y < other.y + other.height and other.y < self.y + self.height)


@dataclass(frozen=True)
class Arrow:
    """A transition, routed as a polyline from its source box's edge to its target's."""

    source: str
    target: str
    kind: str  # next | choice | default | catch
    label: str
    points: tuple[tuple[float, float], ...]

    @property
    def dashed(self) -> bool:
        return self.kind == CATCH


@dataclass(frozen=True)
class Region:
    """One laid-out graph (the machine, a branch, an item processor) and its size."""

    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    x: float
    y: float
    width: float
    height: float

    def all_boxes(self):
        """Every box, the ones inside frames included."""
        for box in self.boxes:
            yield box
            for region in box.regions:
                yield from region.all_boxes()

    def all_arrows(self):
        yield from self.arrows
        for box in self.boxes:
            for region in box.regions:
                yield from region.all_arrows()


def layout(definition: dict, notes: Mapping[str, str] | None = None) -> Region:
    """Lay out a whole state machine definition, Start and End included.

    ``notes`` are extra lines to fit under some states' names (the error a
    failed state shows), by state name.
    """
    return _layout_graph(definition, prefix="", top_level=True, notes=notes or {})


def subtitle(state: dict) -> str:
    """What the console prints under a state's name: its type, or "Service: Action" for a Task."""
    if state.get("Type") != "Task":
        return str(state.get("Type", "?"))
    resource = str(state.get("Resource", ""))
    if resource.startswith("arn:aws:lambda:"):
        return "Lambda: Invoke"
    if resource.startswith("arn:aws:states:::"):
        service, _, action = resource[len("arn:aws:states:::"):].partition(":")
        if service == "aws-sdk":
            service, _, action = action.partition(":")
        action = action.split(".")[0]
        name = SERVICE_NAMES.get(service, service[:1].upper() + service[1:])
        return f"{name}: {action[:1].upper()}{action[1:]}" if action else name
    if ":activity:" in resource:
        return "Activity"
    return "Task"


def transitions(state: dict) -> list[tuple[str, str, str]]:
    """The state's outgoing transitions as (target, kind, label); terminal states have none."""
    found = []
    if state.get("Type") == "Choice":
        for number, rule in enumerate(state.get("Choices", []), start=1):
            if isinstance(rule, dict) and "Next" in rule:
                found.append((rule["Next"], CHOICE, _shorten(rule_text(rule)) or f"Rule #{number}"))
        if "Default" in state:
            found.append((state["Default"], DEFAULT, "Default"))
    elif "Next" in state:
        found.append((state["Next"], NEXT, ""))
    for catcher in state.get("Catch", []) or []:
        if isinstance(catcher, dict) and "Next" in catcher:
            found.append((catcher["Next"], CATCH, _shorten(", ".join(map(str, catcher.get("ErrorEquals", []))))))
    return found


def is_terminal(state: dict) -> bool:
    return state.get("Type") in ("Succeed", "Fail") or state.get("End") is True


def rule_text(rule: dict) -> str:
    """A Choice Rule as a short condition: ``$.confidence >= 0.93``, ``not(...)``, ``a and b``."""
    if "Condition" in rule:
        condition = rule["Condition"]
        if isinstance(condition, str) and condition.startswith("{%") and condition.endswith("%}"):
            condition = condition[2:-2].strip()
        return str(condition).lower() if isinstance(condition, bool) else str(condition)
    for combinator, joiner in (("And", " and "), ("Or", " or ")):
        if combinator in rule:
            return joiner.join(f"({rule_text(inner)})" for inner in rule[combinator])
    if "Not" in rule:
        return f"not ({rule_text(rule['Not'])})"
    variable = rule.get("Variable", "$")
    for field, value in rule.items():
        if field in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        return f"{variable} {_operator(field)} {_operand(field, value)}".rstrip()
    return ""


def _operator(field: str) -> str:
    name = field[:-4] if field.endswith("Path") else field
    if name.startswith("Is"):
        return "is " + name[2:].lower()
    for family in ("String", "Numeric", "Boolean", "Timestamp"):
        if name.startswith(family) and name[len(family):] in OPERATORS:
            return OPERATORS[name[len(family):]]
    return "matches" if name == "StringMatches" else name


def _operand(field: str, value: Any) -> str:
    if field.startswith("Is"):  # IsPresent: true reads "is present"; false reads "is present false"
        return "" if value is True else "false"
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.endswith("Path") or isinstance(value, (int, float)):
        return str(value)
    return f'"{value}"'


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _box_width(*texts: str) -> float:
    return max(MIN_BOX_WIDTH, max(len(text) for text in texts) * CHAR_WIDTH + 28)


def _children(state: dict) -> list[dict]:
    """The graphs drawn inside a state: a Map's processor, a Parallel's branches."""
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [processor] if isinstance(processor, dict) else []
    if state.get("Type") == "Parallel":
        return [branch for branch in state.get("Branches", []) if isinstance(branch, dict)]
    return []


def _layout_graph(graph: dict, *, prefix: str, top_level: bool, notes: Mapping[str, str]) -> Region:
    states = {name: spec for name, spec in graph.get("States", {}).items() if isinstance(spec, dict)}
    boxes: dict[str, Box] = {}
    for name, spec in states.items():
        path = f"{prefix}{name}"
        inner = [_layout_graph(child, prefix=f"{path}/", top_level=False, notes=notes) for child in _children(spec)]
        boxes[name] = _sized_box(name, spec, path, inner, notes.get(name, ""))
    arrows = [(name, target, kind, label) for name, spec in states.items()
              for target, kind, label in transitions(spec) if target in states]
    if top_level:
        boxes[START] = Box(START, START, "", 0, 0, 90, PILL_HEIGHT, START)
        boxes[END] = Box(END, END, "", 0, 0, 90, PILL_HEIGHT, END)
        if graph.get("StartAt") in states:
            arrows.insert(0, (START, graph["StartAt"], NEXT, ""))
        arrows += [(name, END, NEXT, "") for name, spec in states.items() if is_terminal(spec)]
    return _place(boxes, _merge_parallel_arrows(arrows), start=START if top_level else graph.get("StartAt"))


def _sized_box(name: str, spec: dict, path: str, inner: list[Region], note: str) -> Box:
    """The state's box at the origin; a frame's inner graphs side by side under its header."""
    kind, sub = str(spec.get("Type", "?")), subtitle(spec)
    width, height = _box_width(name, sub, note), BOX_HEIGHT
    if not inner:
        return Box(name, kind, sub, 0, 0, width, height, path)
    inner_width = sum(region.width for region in inner) + BRANCH_GAP * (len(inner) - 1)
    width = max(width, inner_width + 2 * FRAME_PADDING)
    height = FRAME_HEADER + max(region.height for region in inner) + FRAME_PADDING
    regions, x = [], (width - inner_width) / 2
    for region in inner:
        regions.append(translate(region, x, FRAME_HEADER))
        x += region.width + BRANCH_GAP
    return Box(name, kind, sub, 0, 0, width, height, path, tuple(regions))


def _merge_parallel_arrows(arrows: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """One arrow per (source, target): two Choice Rules to one state share a line and list both labels."""
    merged: dict[tuple[str, str], list] = {}
    for source, target, kind, label in arrows:
        if (source, target) in merged:
            entry = merged[(source, target)]
            entry[1] = _shared_kind(entry[1], kind)
            entry[2] = "; ".join(part for part in (entry[2], label) if part)
        else:
            merged[(source, target)] = [source, kind, label]
    return [(source, target, kind, _shorten(label)) for (source, target), (_, kind, label) in merged.items()]


def _shared_kind(first: str, second: str) -> str:
    """The kind of a line that two transitions share: dashed (Catch) only when both are Catch edges."""
    if first == second:
        return first
    return NEXT if CATCH in (first, second) else CHOICE


class _View:
    """The size and position grandalf reads and writes on each vertex."""

    def __init__(self, width: float, height: float):
        self.w, self.h = width, height
        self.xy = (0.0, 0.0)


class _EdgeView:
    def __init__(self):
        self.points: list = []
        self.head_angle = 0.0

    def setpath(self, points):
        self.points = points


def _place(boxes: dict[str, Box], arrows: list[tuple[str, str, str, str]], start: str | None) -> Region:
    """Lay the boxes out in layers, each connected group side by side; route the arrows."""
    vertices = {name: Vertex(name) for name in boxes}
    for name, vertex in vertices.items():
        vertex.view = _View(boxes[name].width, boxes[name].height)
    edges, loops = [], [arrow for arrow in arrows if arrow[0] == arrow[1]]
    for source, target, kind, label in arrows:
        if source == target:
            continue  # a state that loops to itself (a polling Choice): drawn beside its box below
        edge = Edge(vertices[source], vertices[target], data=(kind, label))
        edge.view = _EdgeView()
        edges.append(edge)
    graph = Graph(list(vertices.values()), edges)
    placed: dict[str, Box] = {}
    routes: list[Arrow] = []
    offset = 0.0
    for component in graph.C:
        names = [vertex.data for vertex in component.sV]
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = SIBLING_GAP, LAYER_GAP
        sugiyama.route_edge = route_with_lines
        roots = [vertices[start]] if start in names else None
        sugiyama.init_all(roots=roots)
        sugiyama.draw()
        bends = [x for edge in component.sE for x, _ in edge.view.points]
        left = min([vertices[name].view.xy[0] - boxes[name].width / 2 for name in names] + bends)
        for name in names:
            centre_x, centre_y = vertices[name].view.xy
            x = centre_x - boxes[name].width / 2 - left + offset
            y = centre_y - boxes[name].height / 2
            placed[name] = _moved(boxes[name], x, y)
        for edge in component.sE:
            kind, label = edge.data
            points = tuple((px - left + offset, py) for px, py in edge.view.points)
            routes.append(Arrow(edge.v[0].data, edge.v[1].data, kind, label, points))
        offset = max([placed[name].x + placed[name].width for name in names]
                     + [x for arrow in routes for x, _ in arrow.points]) + SIBLING_GAP
    routes += [Arrow(name, name, kind, label, _loop(placed[name])) for name, _, kind, label in loops]
    ordered = tuple(placed[name] for name in boxes)
    order = {(source, target): index for index, (source, target, _, _) in enumerate(arrows)}
    routes.sort(key=lambda arrow: order[(arrow.source, arrow.target)])
    width = max([box.x + box.width for box in ordered] + [x for arrow in routes for x, _ in arrow.points], default=0.0)
    height = max((box.y + box.height for box in ordered), default=0.0)
    return Region(ordered, tuple(routes), 0.0, 0.0, width, height)


def _loop(box: Box) -> tuple[tuple[float, float], ...]:
    """A transition from a box to itself: out of its right side and back in, within the gap beside it."""
    right, reach = box.x + box.width, SIBLING_GAP * 0.6
    top, bottom = box.y + box.height * 0.3, box.y + box.height * 0.7
    return (right, top), (right + reach, top), (right + reach, bottom), (right, bottom)


def _moved(box: Box, x: float, y: float) -> Box:
    """The box with its top left corner at (x, y), whatever it frames moved along."""
    dx, dy = x - box.x, y - box.y
    return replace(box, x=x, y=y, regions=tuple(translate(region, dx, dy) for region in box.regions))


def translate(region: Region, dx: float, dy: float) -> Region:
    """The region moved by (dx, dy), everything inside it too."""
    boxes = tuple(_moved(box, box.x + dx, box.y + dy) for box in region.boxes)
    arrows = tuple(replace(arrow, points=tuple((x + dx, y + dy) for x, y in arrow.points)) for arrow in region.arrows)
    return Region(boxes, arrows, region.x + dx, region.y + dy, region.width, region.height)
