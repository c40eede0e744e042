"""The report on captures in AWS's own format (tests/monitoring/fixtures/aws), every number checked.

The expected values are written out here from the fixture lines (see
fixtures/README.md) and computed with the standard library, not with the code
under test.
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime
from pathlib import Path

import pytest

from scones.monitoring import DirectoryCaptures, TimeWindow, build_report

FIXTURES = Path(__file__).parent / "fixtures" / "aws"
ALL_TRAFFIC = FIXTURES / "data_capture" / "scones-endpoint" / "AllTraffic" / "2026" / "01" / "15"
FILE_10 = ALL_TRAFFIC / "10" / "05-12-345-6f1d2e3c-4b5a-4978-8a6b-5c4d3e2f1a0b.jsonl"
FILE_11 = ALL_TRAFFIC / "11" / "00-03-120-7a2e3f4d-5c6b-4a89-9b7c-6d5e4f3a2b1c.jsonl"
CLASSES = ("bicycle", "motorcycle")
THRESHOLD = 0.93

# (variant, inferenceTime, probabilities) of every line that has an endpointOutput.
INFERENCES = [
    ("AllTraffic", "2026-01-15T10:05:13Z", [0.9781234264373779, 0.021876562759280205]),
    ("AllTraffic", "2026-01-15T10:07:40Z", [0.12030220776796341, 0.8796977996826172]),
    ("AllTraffic", "2026-01-15T10:12:05Z", [0.025139471143484116, 0.9748605489730835]),
    ("AllTraffic", "2026-01-15T10:31:59Z", [0.6102091670036316, 0.38979077339172363]),
    ("AllTraffic", "2026-01-15T10:58:30Z", [0.9991340637207031, 0.0008659470966085792]),
    ("AllTraffic", "2026-01-15T11:00:04Z", [0.04118388891220093, 0.9588161110877991]),
    ("AllTraffic", "2026-01-15T11:15:00Z", [0.9319999814033508, 0.06800001859664917]),  # BASE64 output
    ("AllTraffic", "2026-01-15T11:20:45Z", [0.5, 0.5]),
    ("Canary", "2026-01-15T10:20:01Z", [0.9549999833106995, 0.04500001668930054]),
    ("Canary", "2026-01-15T10:40:00Z", [0.3499999940395355, 0.6500000357627869]),
]
INPUT_ONLY = ("AllTraffic", "2026-01-15T11:09:17Z")
MALFORMED = [(FILE_10, 4, "not JSON"), (FILE_11, 5, "a record needs 'captureData' and 'eventMetadata'")]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def expected(inferences, *, fail_above=None):
    """The summary numbers, from the inputs above, by the course's rule (top >= threshold passes)."""
    tops = [max(p) for _, _, p in inferences]
    names = [CLASSES[p.index(max(p))] for _, _, p in inferences]
    below = [top < THRESHOLD for top in tops]
    cuts = statistics.quantiles(tops, n=100, method="inclusive")
    return {
        "per_class_counts": {name: names.count(name) for name in CLASSES},
        "per_class_below_threshold": {name: sum(b for n, b in zip(names, below) if n == name) for name in CLASSES},
        "share_below_threshold": sum(below) / len(tops),
        "confidence_quantiles": {"min": min(tops), "p5": cuts[4], "p25": cuts[24], "p50": statistics.median(tops),
                                 "p75": cuts[74], "p95": cuts[94], "max": max(tops)},
        "time_range": {"first": min(t for _, t, _ in inferences), "last": max(t for _, t, _ in inferences)},
    }


def check_numbers(summary: dict, inferences) -> None:
    want = expected(inferences)
    assert summary["per_class_counts"] == want["per_class_counts"]
    assert summary["per_class_below_threshold"] == want["per_class_below_threshold"]
    assert summary["share_below_threshold"] == pytest.approx(want["share_below_threshold"], abs=1e-15)
    assert summary["confidence_quantiles"] == pytest.approx(want["confidence_quantiles"], abs=1e-12)
    assert summary["time_range"] == want["time_range"]


def test_every_number_of_the_whole_capture(tmp_path):
    summary = build_report(DirectoryCaptures(FIXTURES), out_dir=tmp_path, class_names=CLASSES,
                           threshold=THRESHOLD, fail_above=0.25)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written == summary.to_json()
    assert written["counts"] == {"total": 13, "valid": 10, "malformed": 2, "without_output": 1,
                                 "outside_window": 0}
    check_numbers(written, INFERENCES)
    assert written["share_below_threshold"] == 0.4  # 0.8797, 0.6102, 0.5 and 0.65
    assert written["alert"] == {"fail_above": 0.25, "low_confidence_share": 0.4, "triggered": True}
    assert written["files"] == {"listed": 3, "read": 3, "skipped": 0}
    assert written["threshold"] == THRESHOLD and written["class_names"] == list(CLASSES)


def test_malformed_lines_are_reported_with_file_and_line_and_skipped(tmp_path):
    summary = build_report(DirectoryCaptures(FIXTURES), out_dir=tmp_path, class_names=CLASSES)
    listed = [(Path(line.location), line.line_number, line.reason) for line in summary.malformed_lines]
    assert [(path, number) for path, number, _ in listed] == [(path, number) for path, number, _ in MALFORMED]
    for (_, _, reason), (_, _, start) in zip(listed, MALFORMED):
        assert reason.startswith(start)


def test_a_tie_goes_to_class_zero_and_a_base64_output_is_decoded(tmp_path):
    window = TimeWindow(at("2026-01-15T11:15:00Z"), at("2026-01-15T11:30:00Z"))
    summary = build_report(DirectoryCaptures(FIXTURES), out_dir=tmp_path, class_names=CLASSES, window=window)
    assert summary.per_class_counts == {"bicycle": 2, "motorcycle": 0}
    assert summary.confidence_quantiles["min"] == 0.5
    assert summary.confidence_quantiles["max"] == 0.9319999814033508
    assert summary.per_class_below_threshold == {"bicycle": 1, "motorcycle": 0}  # 0.932 passes 0.93


def test_one_variant(tmp_path):
    summary = build_report(DirectoryCaptures(FIXTURES), out_dir=tmp_path, class_names=CLASSES, variant="Canary")
    data = summary.to_json()
    assert data["counts"] == {"total": 2, "valid": 2, "malformed": 0, "without_output": 0, "outside_window": 0}
    assert data["files"] == {"listed": 3, "read": 1, "skipped": 2}
    check_numbers(data, [i for i in INFERENCES if i[0] == "Canary"])


def test_time_window_is_exact_since_inclusive_until_exclusive(tmp_path):
    since, until = "2026-01-15T10:31:59Z", "2026-01-15T11:15:00Z"
    summary = build_report(DirectoryCaptures(FIXTURES), out_dir=tmp_path, class_names=CLASSES,
                           window=TimeWindow(at(since), at(until)))
    inside = [i for i in INFERENCES if at(since) <= at(i[1]) < at(until)]
    assert [i[1] for i in inside] == ["2026-01-15T10:31:59Z", "2026-01-15T10:58:30Z", "2026-01-15T11:00:04Z",
                                      "2026-01-15T10:40:00Z"]
    data = summary.to_json()
    check_numbers(data, inside)
    assert at(since) <= at(INPUT_ONLY[1]) < at(until)
    # Malformed lines have no time: the two are counted because their files were read.
    assert data["counts"] == {"total": 4 + 1 + 2, "valid": 4, "malformed": 2, "without_output": 1,
                              "outside_window": len(INFERENCES) - 4}
    assert data["window"] == {"since": since, "until": until}


def test_thumbnails_of_the_least_confident_images(tmp_path):
    build_report(DirectoryCaptures(FIXTURES), out_dir=tmp_path, class_names=CLASSES, thumbnails=3)
    html = (tmp_path / "report.html").read_text()
    assert "The 3 least confident inferences" in html
    lowest = sorted(INFERENCES, key=lambda i: max(i[2]))[:3]
    positions = [html.index(f"</strong> {max(p):.4f}<br>") for _, _, p in lowest]
    assert positions == sorted(positions)  # least confident first
    assert html.count('alt="captured input of ') == 3
