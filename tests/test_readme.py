"""The README is the user's manual: its first lines are the two commands, and every setting is in it."""

from pathlib import Path

from wbsupply.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_first_lines_are_the_two_commands():
    head = README.splitlines()[:6]
    assert any(line.startswith("make run") for line in head)
    assert any(line.startswith("make test") for line in head)


def test_ci_runs_exactly_the_readme_test_command():
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    assert commands == ["make test"]


def test_every_setting_is_documented():
    missing = [name for name in Settings.model_fields if f"WBSUPPLY_{name.upper()}" not in README]
    assert missing == []


def test_every_operator_setting_is_documented():
    from wbsupply.operator.settings import OperatorConfig

    missing = [n for n in OperatorConfig.model_fields if f"WBSUPPLY_OPERATOR_{n.upper()}" not in README]
    assert missing == []
