"""The .lst format SageMaker's image-classification algorithm reads."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.lst import LstEntry, LstFormatError, format_lst, parse_lst

paths = st.text(st.characters(blacklist_characters="\t\n\r", blacklist_categories=("Cs", "Zl", "Zp", "Cc")),
                min_size=1).map(str.strip).filter(bool)
entries = st.builds(LstEntry, index=st.integers(0, 10**6), label=st.integers(0, 999), path=paths)


@given(st.lists(entries))
def test_format_parse_round_trip(items):
    assert parse_lst(format_lst(items)) == items


def test_course_line_format():
    assert format_lst([LstEntry(16, 0, "bike_s_000682.png")]) == "16\t0\tbike_s_000682.png\n"


def test_float_labels_accepted():
    assert parse_lst("3\t1.000000\ta.png\n") == [LstEntry(3, 1, "a.png")]


@pytest.mark.parametrize("line,message", [
    ("3 1 a.png", r"train.lst:2: expected 'index<TAB>label<TAB>path'"),
    ("x\t1\ta.png", r"train.lst:2: index and label must be numbers"),
    ("3\t0.5\ta.png", r"train.lst:2: label must be a class id"),
])
def test_bad_lines_name_file_and_line(line, message):
    with pytest.raises(LstFormatError, match=message):
        parse_lst("1\t0\tok.png\n" + line + "\n", source="train.lst")


def test_tab_in_path_refused():
    with pytest.raises(LstFormatError, match="without tabs"):
        format_lst([LstEntry(1, 0, "a\tb.png")])


def test_parses_the_course_train_lst_if_present():
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "shared/data/cifar100-vehicles/train/train.lst"
    if not path.is_file():
        pytest.skip("../shared/data is not here (it is only on the project's machines)")
    parsed = parse_lst(path.read_text(), source=str(path))
    assert len(parsed) == 1000
    assert parsed[0] == LstEntry(16, 0, "bike_s_000682.png")
    assert {entry.label for entry in parsed} == {0, 1}
    assert format_lst(parsed) == path.read_text()
