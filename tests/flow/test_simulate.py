"""The dialplan simulator (ivr.flow.simulate): the real engine on typed caller input."""

from __future__ import annotations

from pathlib import Path

from ivr.flow.loader import load_text
from ivr.flow.simulate import CallerInput, Simulator, parse_inputs

PLAN = """
id: sim
languages: [en-US, zh-CN]
start: menu
nodes:
  menu:
    ask:
      prompt: {en-US: "Say billing or press 1.", zh-CN: "账单请按1。"}
      dtmf: {"1": pin}
      phrases: {pin: {en-US: [billing], zh-CN: [账单]}}
      retries: 1
      fallback: agent
  pin:
    collect:
      prompt: {en-US: "Key in your PIN.", zh-CN: "请输入密码。"}
      into: pin
      secret: true
      min_length: 4
      max_length: 4
    next: bye
  bye:
    hangup:
      prompt: {en-US: "Goodbye.", zh-CN: "再见。"}
      outcome: self_served
  agent:
    queue: {name: customer_service}
"""


def plan() -> object:
    loaded, problems = load_text(PLAN, "sim.yaml")
    assert loaded is not None, problems
    return loaded.plan


def test_inputs_are_keys_words_or_silence() -> None:
    assert parse_inputs("1\n1234#\n\n-\nmy card is lost") == [
        CallerInput(keys="1"), CallerInput(keys="1234#"), CallerInput(), CallerInput(),
        CallerInput(words="my card is lost")]


async def test_words_walk_the_path_and_a_secret_is_never_shown() -> None:
    result = await Simulator().run(plan(), parse_inputs("billing\n2580"),  # type: ignore[arg-type]
                                   language="en-US")
    assert [s.node for s in result.steps] == ["menu", "pin", "bye"]
    assert (result.outcome, result.error) == ("self_served", None)
    menu, pin, bye = result.steps
    assert menu.caller == ['says "billing"']
    assert menu.prompts == {"en-US": ["Say billing or press 1."], "zh-CN": ["账单请按1。"]}
    assert pin.caller == ["keys ••••"]
    assert "2580" not in repr(result.as_json())
    assert bye.heard == [("en-US", "Goodbye.")]


async def test_a_mandarin_caller_hears_mandarin_and_misses_reach_the_fallback() -> None:
    result = await Simulator().run(plan(), parse_inputs("\n9\n8"),  # type: ignore[arg-type]
                                   language="zh-CN")
    assert [s.node for s in result.steps] == ["menu", "agent"]
    assert (result.outcome, result.queue) == ("queued", "customer_service")
    assert {lang for lang, _ in result.steps[0].heard} == {"zh-CN"}
    # Silence, a wrong key, then the keypad-only attempt: the question's fallback.
    assert any(n.startswith("no_input") for n in result.steps[0].notes)
    assert any(n.startswith("keypad_fallback") for n in result.steps[0].notes)


async def test_the_path_ends_where_the_inputs_run_out() -> None:
    result = await Simulator().run(plan(), parse_inputs("1"),  # type: ignore[arg-type]
                                   language="en-US")
    assert [s.node for s in result.steps] == ["menu", "pin"]
    assert result.outcome == "abandoned" and result.error == "the caller's inputs ran out here"


def test_a_simulated_caller_never_reaches_a_real_sms_gateway(tmp_path: Path) -> None:
    from ivr.dialplan_desk import DemoSandbox
    from ivr.security.notifier import EmbeddedNotifier
    from ivr.security.settings import SecuritySettings
    from ivr.security.wiring import make_notifier
    from ivr.store.db import make_engine

    live = SecuritySettings.model_validate(
        {"otp": {"sink": "http", "gateway_url": "https://sms.invalid/send"}})
    sandbox = DemoSandbox(live)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert isinstance(make_notifier(sandbox.security, engine, tmp_path), EmbeddedNotifier)
    assert live.otp.sink == "http"  # the live settings are left alone
