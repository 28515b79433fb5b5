"""A caller who never presses or says anything, over FastAGI with the shipped hotline and
prompts that take their real length (the fake Asterisk's simulated clock: each prompt plays
for its WAV's duration, each wait lasts its timeout; nothing sleeps)."""

from __future__ import annotations

import json
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.app import Hotline
from ivr.testing.agi_peer import PeerResult, run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.agi_wire import parse_args
from ivr.testing.server import server_settings

AGENT_WITHIN = 45.0  # seconds from answer to the transfer to an agent
REPROMPT_AT_MOST = 8.0  # seconds of audio when the caller is asked again
LISTENING = ("GET DATA", "RECORD FILE", "WAIT FOR DIGIT")


@pytest.fixture
async def hotline(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> AsyncIterator[Hotline]:
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir))
    async with app.running():
        yield app


def prompt_seconds(sounds_dir: Path, media: str) -> float:
    with wave.open(str(sounds_dir / f"{Path(media).name}.wav"), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def heard_between_listening(result: PeerResult, sounds_dir: Path) -> list[tuple[list[str], float]]:
    """What the caller heard before each listening window: (prompt texts, seconds of audio)."""
    texts = {key: entry["text"] for key, entry in
             json.loads((sounds_dir / "index.json").read_text("utf-8")).items()}
    runs: list[tuple[list[str], float]] = []
    said: list[str] = []
    seconds = 0.0
    for command in result.commands:
        args = parse_args(command)
        if command.startswith(("STREAM FILE", "GET DATA")) and args[2]:
            said.append(texts[Path(args[2]).name])
            seconds += prompt_seconds(sounds_dir, args[2])
        if command.startswith(LISTENING):
            if said:
                runs.append((said, seconds))
            said, seconds = [], 0.0
    return runs


async def silent_call(app: Hotline, channel_language: str, *keys: str,
                      ) -> tuple[PeerResult, float]:
    """The call (the caller presses ``keys``, then nothing) and its seconds from answer to
    the transfer (IVR_QUEUE set)."""
    assert app.agi_address is not None
    result = await run_call(*app.agi_address, script_actions=CallerScript.of(*keys),
                            language=channel_language, sounds_root=app.settings.sounds_dir,
                            records_silence=True, idle_timeout=20)
    assert result.commands[0] == "ANSWER"
    transfer = next(i for i, c in enumerate(result.commands)
                    if c.startswith("SET VARIABLE IVR_QUEUE "))
    return result, result.seconds_at(transfer) - result.seconds_at(0)


@pytest.mark.parametrize(("channel_language", "keys", "menu_starts"), [
    ("en", (), "Tell me in a few words how I can help"),  # en-US, by voice or keys
    ("zh", (), "请直接说您要办的业务"),  # a Mandarin line: zh-CN, by voice or keys
    ("en", ("2",), "请直接说您要办的业务"),  # chose Mandarin, then silent
], ids=["en-US", "zh-CN-line", "zh-CN-chosen"])
async def test_a_silent_caller_reaches_an_agent_within_45_seconds(
        hotline: Hotline, channel_language: str, keys: tuple[str, ...], menu_starts: str,
        ) -> None:
    result, seconds = await silent_call(hotline, channel_language, *keys)
    assert result.variables["IVR_QUEUE"] == "customer_service"
    assert seconds <= AGENT_WITHIN, f"{seconds:.1f} s to an agent"
    runs = heard_between_listening(result, hotline.settings.sounds_dir)
    menus = [i for i, (said, _) in enumerate(runs) if said[-1].startswith(menu_starts)]
    assert len(menus) == 1, "the long main menu is played once to a silent caller"
    # Asked again after silence: a short re-prompt, not the whole menu.
    again = runs[menus[0] + 1:]
    assert again, "a silent caller is asked once more before the agent"
    for said, audio in again:
        assert audio <= REPROMPT_AT_MOST, f"{audio:.1f} s re-prompt: {said}"
    print(f"{channel_language}: agent after {seconds:.1f} s; menu {runs[menus[0]][1]:.1f} s; "
          f"re-prompts {[round(a, 1) for _, a in again]} s")


def test_every_question_of_the_hotline_asks_again_in_at_most_8_seconds(
        sounds_dir: Path, dialplan_dir: Path) -> None:
    """After silence, each question is asked again in at most 8 s of audio (the apology and
    the short ``reprompt``, or the prompt when it has none), in every language, with the
    prompts as rendered for callers."""
    from ivr.flow.loader import load_file

    loaded, problems = load_file(dialplan_dir / "hotline.yaml")
    assert loaded is not None, problems
    plan = loaded.plan
    files = {entry["text"]: key for key, entry in
             json.loads((sounds_dir / "index.json").read_text("utf-8")).items()}
    checked = []
    for node_id, node in plan.nodes.items():
        question = node.ask or node.collect
        retries = plan.defaults.retries if question is None or question.retries is None \
            else question.retries
        if question is None or retries == 0:
            continue
        apology = question.no_input or plan.defaults.no_input or {}
        again = question.reprompt or question.prompt
        for lang in plan.languages:
            said = [t for t in (apology.get(lang), again.get(lang)) if t]
            seconds = sum(prompt_seconds(sounds_dir, files[t]) for t in said)
            assert seconds <= REPROMPT_AT_MOST, f"{node_id} {lang}: {seconds:.1f} s {said}"
            checked.append(node_id)
    assert {"main_menu", "how_can_i_help", "account_menu", "new_phone"} <= set(checked)
