"""The verify and change_phone nodes as admins write them: mistakes reported with lines."""

from __future__ import annotations

from ivr.flow.loader import load_text

PLAN = """\
id: v
languages: [en-US]
start: check
nodes:
  check:
    verify:
      level: strong
      strong: pin
      prompts:
        knowledge: {en-US: "Card last four?"}
        wrong: {en-US: "No."}
      verified: done
      failed: done
      locked: agnet
  done:
    hangup: {}
"""


def test_mistakes_in_a_verify_node_are_reported_with_their_line() -> None:
    loaded, problems = load_text(PLAN, "v.yaml")
    assert loaded is None
    assert [str(p) for p in problems] == ["v.yaml:6: nodes.check.verify: Value error, "
                                          "strong: pin needs prompts.pin"]
    fixed = PLAN.replace('        wrong:', '        pin: {en-US: "PIN?"}\n        wrong:')
    loaded, problems = load_text(fixed, "v.yaml")
    assert [str(p) for p in problems] == [
        "v.yaml:15: node 'check' goes to unknown node 'agnet'"]


def test_a_dialplan_cannot_set_itself_verified() -> None:
    plan = """\
id: v
languages: [en-US]
start: cheat
nodes:
  cheat:
    set: {verified_level: strong, customer_id: C1001}
    next: done
  done:
    hangup: {}
"""
    loaded, problems = load_text(plan, "v.yaml")
    assert loaded is None
    assert {p.message for p in problems} == {
        "'verified_level' is set by Hotline and cannot be changed",
        "'customer_id' is set by Hotline and cannot be changed"}
