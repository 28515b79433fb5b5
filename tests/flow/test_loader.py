"""Dialplan checks as an admin sees them: FILE:LINE: message."""

from pathlib import Path

import pytest

from ivr.flow.loader import load_file, load_text
from ivr.flow.safe_yaml import DialplanLimits

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


# Limits (issue 13 item 4) -----------------------------------------------------------------

def _laughs(levels: int) -> str:
    """A "billion laughs" document: each level lists the previous one nine times."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_at_the_line_it_explodes() -> None:
    # 9**5 = 59,049 nodes once expanded: small enough to be harmless without the limit
    assert problems(_laughs(5)) == [
        "plan.yaml:5: aliases expand to more than 10,000 nodes (dialplans.max_alias_nodes)"]


def test_alias_nodes_limit_is_a_setting() -> None:
    plan, found = load_text(_laughs(5), "plan.yaml", DialplanLimits(max_alias_nodes=100_000))
    assert plan is None and not any("max_alias_nodes" in str(p) for p in found), found


@pytest.mark.parametrize("text,expected", [
    ("[" * 20_000, "plan.yaml:1: YAML syntax error: exceeded maximum nesting depth"),
    ("{a: " * 20_000, "plan.yaml:1: nested deeper than 64 levels (dialplans.max_depth)"),
    ("a:\n" + "".join(" " * i + "k:\n" for i in range(1, 200)),
     "plan.yaml:64: nested deeper than 64 levels (dialplans.max_depth)"),
    ("- " * 20_000 + "x\n", "plan.yaml:1: nested deeper than 64 levels (dialplans.max_depth)"),
])
def test_deep_nesting_is_refused_without_a_traceback(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_alias_counts_towards_depth() -> None:
    text = "deep: &d " + "{k: " * 40 + "1" + "}" * 40 + "\nagain: " + "[" * 30 + "*d" + "]" * 30
    assert problems(text) == [
        "plan.yaml:2: alias *d nests deeper than 64 levels (dialplans.max_depth)"]


def test_alias_inside_its_own_anchor_is_refused() -> None:
    assert problems("id: &a [1, *a]\n") == [
        "plan.yaml:1: alias *a refers to a node that contains it"]


def test_dialplan_over_max_bytes_is_refused_before_parsing(tmp_path: Path) -> None:
    big = GOOD + "# " + "x" * 2_000_000 + "\n"
    size = len(big.encode())
    assert problems(big) == [f"plan.yaml:1: the dialplan is {size:,} bytes; the limit is "
                             "2,000,000 (dialplans.max_bytes)"]
    path = tmp_path / "big.yaml"
    path.write_text(big)
    plan, found = load_file(path)
    assert plan is None and [str(p) for p in found] == [
        f"{path}:1: the dialplan is {size:,} bytes; the limit is 2,000,000 "
        "(dialplans.max_bytes)"]
    plan, found = load_file(path, DialplanLimits(max_bytes=3_000_000))
    assert found == [] and plan is not None


def test_ordinary_anchors_and_aliases_keep_working() -> None:
    text = GOOD.replace('      prompt: {en-US: "Press 1.", zh-CN: "请按1。"}',
                        '      prompt: &menu {en-US: "Press 1.", zh-CN: "请按1。"}\n'
                        '      no_match: *menu\n      no_input: *menu')
    plan, found = load_text(text, "plan.yaml")
    assert found == [] and plan is not None
    assert plan.plan.nodes["menu"].ask.no_input == {"en-US": "Press 1.", "zh-CN": "请按1。"}  # type: ignore[union-attr]


def test_a_list_as_a_key_is_refused() -> None:
    assert "plan.yaml:1: a key must be a plain word, not a list or map" in problems(
        "? [a, b]\n: 1\n" + GOOD)


# Loops that never wait for the caller (issue 13 item 15) ----------------------------------

LOOPY = """\
id: loopy
languages: [en-US]
start: menu
nodes:
  menu:
    ask:
      prompt: {en-US: "Press 1 for news, 2 to go on."}
      dtmf: {"1": news, "2": check}
  news:
    say: {en-US: "Here is the news."}
    next: again
  again:
    goto: menu
  check:
    branch: {var: language, cases: {en-US: bye}, default: retry}
  retry:
    say: {en-US: "One more time."}
    next: check
  bye:
    hangup: {}
"""


def test_loop_through_an_ask_is_fine_but_a_silent_loop_is_reported() -> None:
    # menu -> news -> again -> menu waits at the ask: fine. check -> retry -> check does not.
    assert problems(LOOPY) == [
        "plan.yaml:14: nodes check -> retry -> check loop without ever waiting for the caller "
        "(the call would end in flow-loop); add an ask or collect, or end in queue or hangup"]


def test_goto_to_itself_is_a_loop() -> None:
    text = GOOD.replace('{"1": bye}', '{"1": spin}') + "  spin:\n    goto: spin\n"
    assert any(p.startswith("plan.yaml:11: nodes spin -> spin loop") for p in problems(text))


@pytest.mark.parametrize("node,loops", [
    # hours: the loop through `closed` happens at night only, but it happens
    ("hours: {timezone: UTC, weekly: {mon: '09:00-17:00'}, open: bye, closed: spin}", True),
    # a verified caller skips every question of verify: verified -> spin -> verify again
    ("verify: {level: basic, prompts: {knowledge: {en-US: k}, wrong: {en-US: w}}, "
     "verified: spin, failed: bye, locked: bye}", True),
    # without a read-back an action asks nothing
    ("action: {do: balance, ok: spin, failed: bye}", True),
    # the read-back waits for the caller's yes or no
    ("action: {do: balance, read_back: {en-US: 'Sure?'}, ok: spin, failed: bye}", False),
    ("collect: {prompt: {en-US: 'Digits?'}, into: digits, fallback: bye}\n    next: spin",
     False),
])
def test_which_nodes_break_a_loop(node: str, loops: bool) -> None:
    text = f"""\
id: loops
languages: [en-US]
start: spin
nodes:
  spin:
    say: {{en-US: "Hello."}}
    next: step
  step:
    {node}
  bye:
    hangup: {{}}
"""
    found = problems(text) if loops else []
    if not loops:
        plan, found = load_text(text, "plan.yaml")
        assert plan is not None, found
    assert (found == ["plan.yaml:5: nodes spin -> step -> spin loop without ever waiting for "
                      "the caller (the call would end in flow-loop); add an ask or collect, or "
                      "end in queue or hangup"]) == loops, found


@pytest.mark.parametrize("text,expected", [
    ("id: !python/name:os.system x\n", "plan.yaml:1: unsupported YAML tag !python/name:os.system"),
    ("id: 2024-13-01\n", "plan.yaml:1: bad value '2024-13-01': month must be in 1..12"),
    ("id: a\n---\nid: b\n", "plan.yaml:2: expected one document, found another"),
])
def test_yaml_a_dialplan_has_no_use_for_is_a_problem_not_a_traceback(text: str,
                                                                      expected: str) -> None:
    assert problems(text) == [expected]
