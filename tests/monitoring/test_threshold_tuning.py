"""The threshold curve (pure), its place in summary.json, and the report's slider in a real browser."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.monitoring.build import build_report
from scones.monitoring.reading import DirectoryCaptures
from scones.monitoring.threshold_curve import CURVE_THRESHOLDS, LabelledInference, threshold_curve

from .capture_writing import CLASSES, inference_record, write_capture_file

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def test_the_curve_runs_from_0_50_to_0_99():
    assert CURVE_THRESHOLDS[0] == 0.5 and CURVE_THRESHOLDS[-1] == 0.99 and len(CURVE_THRESHOLDS) == 50
    assert all(round(b - a, 2) == 0.01 for a, b in zip(CURVE_THRESHOLDS, CURVE_THRESHOLDS[1:]))


def test_a_small_curve_by_hand():
    class_ids = np.array([0, 0, 1, 1], dtype=np.int16)
    confidences = np.array([0.93, 0.6, 0.99, 0.929])
    labelled = [LabelledInference("bicycle", "bicycle", 0.93), LabelledInference("bicycle", "motorcycle", 0.99)]
    at_093, at_095 = threshold_curve(class_ids, confidences, CLASSES, labelled, thresholds=(0.93, 0.95))
    assert at_093.to_json() == {
        "threshold": 0.93, "passed": 2, "share_passed": 0.5,
        "per_class_share_passed": {"bicycle": 0.5, "motorcycle": 0.5},  # 0.93 passes: the rule is >=
        "labelled": 2, "labelled_passed": 2, "accuracy_among_passed": 0.5, "wrong_passed": 1}
    assert (at_095.passed, at_095.per_class_share_passed, at_095.accuracy_among_passed, at_095.wrong_passed) == (
        1, {"bicycle": 0.0, "motorcycle": 0.5}, 0.0, 1)
    empty = threshold_curve(np.zeros(0, np.int16), np.zeros(0), CLASSES)[0]
    assert (empty.share_passed, empty.per_class_share_passed, empty.accuracy_among_passed) == (
        None, {"bicycle": None, "motorcycle": None}, None)


inferences = st.lists(st.tuples(st.integers(0, 2), st.floats(0.0, 1.0), st.sampled_from(["a", "b", "c"])),
                      max_size=60)


@given(inferences)
def test_each_point_counts_what_meets_the_filter_rule(rows):
    names = ("a", "b", "c")
    class_ids = np.array([row[0] for row in rows], dtype=np.int16)
    confidences = np.array([row[1] for row in rows], dtype=np.float64)
    labelled = [LabelledInference(truth, names[predicted], confidence) for predicted, confidence, truth in rows]
    curve = threshold_curve(class_ids, confidences, names, labelled)
    previous = None
    for point in curve:
        passing = [row for row in rows if row[1] >= point.threshold]
        assert point.passed == len(passing)
        for index, name in enumerate(names):
            of_class = [row for row in rows if row[0] == index]
            expected = sum(row[1] >= point.threshold for row in of_class) / len(of_class) if of_class else None
            assert point.per_class_share_passed[name] == expected
        wrong = sum(names[row[0]] != row[2] for row in passing)
        assert (point.labelled_passed, point.wrong_passed) == (len(passing), wrong)
        if previous is not None:  # a higher threshold never lets more through
            assert point.passed <= previous.passed and point.wrong_passed <= previous.wrong_passed
        previous = point


@pytest.fixture
def report(tmp_path):
    """A report of eight captured inferences, four of them with their true class known."""
    probabilities = [[0.98, 0.02], [0.3, 0.7], [0.05, 0.95], [0.6, 0.4], [0.01, 0.99], [0.55, 0.45],
                     [0.9, 0.1], [0.04, 0.96]]
    records = [inference_record(T0 + timedelta(minutes=i), p, seed=i) for i, p in enumerate(probabilities)]
    write_capture_file(tmp_path / "captures", T0, records)
    labelled = [LabelledInference("bicycle", "bicycle", 0.98), LabelledInference("bicycle", "motorcycle", 0.95),
                LabelledInference("motorcycle", "motorcycle", 0.99), LabelledInference("motorcycle", "bicycle", 0.9)]
    out = tmp_path / "report"
    build_report(DirectoryCaptures(tmp_path / "captures"), out_dir=out, class_names=CLASSES, labelled=labelled)
    return out


def test_summary_json_carries_the_curve(report):
    curve = json.loads((report / "summary.json").read_text())["threshold_curve"]
    assert [point["threshold"] for point in curve] == list(CURVE_THRESHOLDS)
    at_093 = curve[CURVE_THRESHOLDS.index(0.93)]
    assert at_093["passed"] == 4  # 0.98, 0.95, 0.99, 0.96
    assert at_093["per_class_share_passed"] == {"bicycle": 0.25, "motorcycle": 0.75}
    assert (at_093["labelled_passed"], at_093["accuracy_among_passed"], at_093["wrong_passed"]) == (3, 2 / 3, 1)
    page = (report / "report.html").read_text()
    assert 'min="0.50" max="0.99" step="0.01" value="0.93">' in page
    section = page.split("<h2>Threshold tuning</h2>")[1].split("<h2>Figures</h2>")[0]
    assert "<script src" not in page and "://" not in section  # works offline, from file://


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver; .ci/run installs them)")
def test_the_slider_works_in_a_real_browser_from_file(report):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.get((report / "report.html").as_uri())
        text = lambda element_id: driver.find_element(By.ID, element_id).text  # noqa: E731
        cells = {cell.get_attribute("data-class"): cell for cell in driver.find_elements(By.CSS_SELECTOR, "[data-class]")}
        assert text("threshold-value") == "0.93"
        assert text("share-passed") == "50.0% (4)"
        assert (cells["bicycle"].text, cells["motorcycle"].text) == ("25.0%", "75.0%")
        assert (text("accuracy-passed"), text("wrong-passed")) == ("66.7% of 3", "1")
        slider = driver.find_element(By.ID, "threshold")
        for _ in range(3):  # 0.96: 0.98, 0.99, 0.96 pass
            slider.send_keys(Keys.ARROW_RIGHT)
        assert text("threshold-value") == "0.96"
        assert text("share-passed") == "37.5% (3)"
        assert (text("accuracy-passed"), text("wrong-passed")) == ("100.0% of 2", "0")
        slider.send_keys(Keys.HOME)  # 0.50: every top confidence here is at least 0.55
        assert (text("threshold-value"), text("share-passed"), text("wrong-passed")) == ("0.50", "100.0% (8)", "2")
    finally:
        driver.quit()
