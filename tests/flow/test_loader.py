"""Dialplan checks as an admin sees them: FILE:LINE: message."""

from pathlib import Path

import pytest

from ivr.flow.loader import load_file, load_text

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
id: mini
languages: [en-US, zh-CN]
start: menu
nodes:
  menu:
    ask:
      prompt: {en-US: "Press 1.", zh-CN: "请按1。"}
      dtmf: {"1": bye}
  bye:
    hangup: {}
"""


def problems(text: str) -> list[str]:
    plan, found = load_text(text, "plan.yaml")
    assert plan is None
    return [str(p) for p in found]


def test_shipped_hotline_dialplan_is_valid() -> None:
    plan, found = load_file(ROOT / "dialplans" / "hotline.yaml")
    assert found == []
    assert plan is not None and plan.plan.languages == ["en-US", "zh-CN"]


def test_good_plan_loads() -> None:
    plan, found = load_text(GOOD, "plan.yaml")
    assert found == [] and plan is not None and plan.plan.start == "menu"


def test_unknown_target_reported_with_line_and_hint() -> None:
    text = GOOD.replace('{"1": bye}', '{"1": byee}')
    assert "plan.yaml:8: node 'menu' goes to unknown node 'byee' (did you mean 'bye'?)" in problems(text)


def test_unreachable_node() -> None:
    text = GOOD + "  orphan:\n    goto: menu\n"
    assert "plan.yaml:11: node 'orphan' is unreachable from start 'menu'" in problems(text)


def test_missing_prompt_language() -> None:
    text = GOOD.replace(', zh-CN: "请按1。"', "")
    assert "plan.yaml:7: missing prompt for zh-CN" in problems(text)


def test_unknown_field_suggests_the_right_one() -> None:
    text = GOOD.replace("      dtmf:", "      timout: 3\n      dtmf:")
    assert "plan.yaml:8: unknown field 'timout' (did you mean 'timeout'?)" in problems(text)


def test_bad_pattern() -> None:
    text = GOOD.replace("  bye:\n", "  c:\n    collect: {prompt: {en-US: a, zh-CN: b}, into: x, "
                        "pattern: '[0-9'}\n    next: bye\n  bye:\n").replace('{"1": bye}', '{"1": c}')
    found = problems(text)
    assert any(p.startswith("plan.yaml:10:") and "bad pattern" in p for p in found), found


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = GOOD.replace('{"1": bye}', '{"1": nowhere, "2": elsewhere}') + "  lost:\n    goto: bye\n"
    found = problems(text)
    assert len(found) >= 3, found


def test_syntax_error_has_line() -> None:
    found = problems("id: x\nnodes: [\n  a: b\n")
    assert found and found[0].startswith("plan.yaml:") and "YAML syntax error" in found[0]


def test_duplicate_node_id() -> None:
    text = GOOD + "  bye:\n    hangup: {}\n"
    assert "plan.yaml:11: duplicate key 'bye'" in problems(text)


@pytest.mark.parametrize("bad,needle", [
    ("timezone: Mars/Olympus", "unknown timezone"),
    ("weekly: {funday: '09:00-17:00'}", "unknown day"),
    ("weekly: {mon: '9am-5pm'}", "bad time range"),
])
def test_hours_problems(bad: str, needle: str) -> None:
    hours = {"timezone": "timezone: UTC", "weekly": "weekly: {mon-fri: '09:00-17:00'}"}
    key = bad.split(":")[0]
    hours[key] = bad
    text = GOOD.replace("start: menu", "start: h").replace(
        "nodes:\n", "nodes:\n  h:\n    hours:\n      " + "\n      ".join(hours.values())
        + "\n      open: menu\n      closed: bye\n")
    found = problems(text)
    line = 7 if key == "timezone" else 8
    assert any(needle in p and p.startswith(f"plan.yaml:{line}:") for p in found), found


def test_set_language_must_be_declared() -> None:
    text = GOOD.replace("start: menu", "start: s").replace(
        "nodes:\n", "nodes:\n  s:\n    set: {language: fr-FR}\n    next: menu\n")
    assert any("language 'fr-FR' is not one of" in p for p in problems(text))
