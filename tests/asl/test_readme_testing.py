"""The README's testing section works as documented: its mock file and pytest file, run as a user would."""

from __future__ import annotations

import json
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
# A file the README shows: a marker naming it, then one fenced code block.
EXAMPLE = re.compile(r"<!-- readme-example: (?P<name>[\w.]+) -->\n```\w*\n(?P<body>.*?)\n```", re.DOTALL)


def readme_examples() -> dict[str, str]:
    return {match["name"]: match["body"] + "\n" for match in EXAMPLE.finditer(README.read_text(encoding="utf-8"))}


def test_the_readme_shows_a_mock_file_and_a_test_file():
    examples = readme_examples()
    assert sorted(examples) == ["MockConfigFile.json", "test_workflow.py"]
    assert list(json.loads(examples["MockConfigFile.json"])) == ["StateMachines", "MockedResponses"]
    assert "asl.test_state(" in examples["test_workflow.py"]


def test_the_readme_test_file_passes_against_the_readme_mock_file(pytester):
    for name, body in readme_examples().items():
        (pytester.path / name).write_text(body, encoding="utf-8")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "test_workflow.py")
    result.assert_outcomes(passed=4)
