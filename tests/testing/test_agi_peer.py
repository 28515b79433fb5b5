"""The fake Asterisk answers a FastAGI server exactly as the recorded Asterisk 22.10.1 did.

Each test runs ``run_call`` against a throwaway FastAGI server on 127.0.0.1 (port 0) that
sends scripted commands and keeps what it heard. Expected lines are the ones recorded in
/work/shared/asterisk/sessions (copied below where bytes matter).
"""

from __future__ import annotations

import ast
import asyncio
import re
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ivr.testing.agi_peer import PeerResult, run_call, send_raw
from ivr.testing.agi_script import CallerScript, HangUp, Press, Silence

READ = "<read one more line>"  # a dialogue step that sends nothing and reads a line

# The environment blocks as logged in agi_cli.txt (no caller id) and agi_wav.txt.
AGI_CLI_ENV = r"""
[  0.04] AGI<< 'agi_network: yes\n'
[  0.04] AGI<< 'agi_network_script: hotline\n'
[  0.04] AGI<< 'agi_request: agi://127.0.0.1:4573/hotline\n'
[  0.04] AGI<< 'agi_channel: Local/s@ivr-in-00000013;2\n'
[  0.04] AGI<< 'agi_language: en\n'
[  0.04] AGI<< 'agi_type: Local\n'
[  0.04] AGI<< 'agi_uniqueid: 1795605582.69\n'
[  0.04] AGI<< 'agi_version: 22.10.1\n'
[  0.04] AGI<< 'agi_callerid: unknown\n'
[  0.04] AGI<< 'agi_calleridname: unknown\n'
[  0.04] AGI<< 'agi_callingpres: 67\n'
[  0.04] AGI<< 'agi_callingani2: 0\n'
[  0.04] AGI<< 'agi_callington: 0\n'
[  0.04] AGI<< 'agi_callingtns: 0\n'
[  0.04] AGI<< 'agi_dnid: unknown\n'
[  0.04] AGI<< 'agi_rdnis: unknown\n'
[  0.04] AGI<< 'agi_context: ivr-in\n'
[  0.04] AGI<< 'agi_extension: s\n'
[  0.04] AGI<< 'agi_priority: 2\n'
[  0.04] AGI<< 'agi_enhanced: 0.0\n'
[  0.04] AGI<< 'agi_accountcode: \n'
[  0.04] AGI<< 'agi_threadid: 140083528509120\n'
[  0.04] AGI<< '\n'
"""
AGI_WAV_ENV = r"""
[  0.02] AGI<< 'agi_network: yes\n'
[  0.02] AGI<< 'agi_network_script: hotline\n'
[  0.02] AGI<< 'agi_request: agi://127.0.0.1:4573/hotline\n'
[  0.02] AGI<< 'agi_channel: Local/s@ivr-in-00000014;2\n'
[  0.02] AGI<< 'agi_language: en\n'
[  0.02] AGI<< 'agi_type: Local\n'
[  0.02] AGI<< 'agi_uniqueid: 1795605596.71\n'
[  0.02] AGI<< 'agi_version: 22.10.1\n'
[  0.02] AGI<< 'agi_callerid: +15551234567\n'
[  0.02] AGI<< 'agi_calleridname: Sim Caller\n'
[  0.02] AGI<< 'agi_callingpres: 0\n'
[  0.02] AGI<< 'agi_callingani2: 0\n'
[  0.02] AGI<< 'agi_callington: 0\n'
[  0.02] AGI<< 'agi_callingtns: 0\n'
[  0.02] AGI<< 'agi_dnid: unknown\n'
[  0.02] AGI<< 'agi_rdnis: unknown\n'
[  0.02] AGI<< 'agi_context: ivr-in\n'
[  0.02] AGI<< 'agi_extension: s\n'
[  0.02] AGI<< 'agi_priority: 2\n'
[  0.02] AGI<< 'agi_enhanced: 0.0\n'
[  0.02] AGI<< 'agi_accountcode: \n'
[  0.02] AGI<< 'agi_threadid: 140083517228736\n'
[  0.02] AGI<< '\n'
"""


def recorded_bytes(log: str) -> bytes:
    """What Asterisk sent, from the probe's ``AGI<< '...'`` log lines."""
    lines = re.findall(r"AGI<< ('.*')$", log, flags=re.MULTILINE)
    return "".join(ast.literal_eval(line) for line in lines).encode()


@dataclass
class Heard:
    """What the throwaway server received: the env block and a line per dialogue step."""

    env: bytes = b""
    lines: list[str] = field(default_factory=list)
    error: BaseException | None = None

    def env_value(self, key: str) -> str:
        found = re.search(rf"^{key}: (.*)$", self.env.decode(), flags=re.MULTILINE)
        assert found is not None
        return found.group(1)


@asynccontextmanager
async def fastagi_server(steps: list[str]) -> AsyncIterator[tuple[int, Heard]]:
    """A FastAGI server that reads the env block, sends ``steps`` one at a time (reading one
    line after each) and then closes the connection."""
    heard = Heard()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (raw := await reader.readline()) not in (b"", b"\n"):
                heard.env += raw
            heard.env += raw
            for step in steps:
                if step != READ:
                    writer.write(step.encode() + b"\n")
                    await writer.drain()
                async with asyncio.timeout(5):
                    heard.lines.append((await reader.readline()).decode().removesuffix("\n"))
        except Exception as err:  # surfaced by the test, not lost in the server task
            heard.error = err
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    async with server:
        yield server.sockets[0].getsockname()[1], heard
    if heard.error:
        raise heard.error


async def call(steps: list[str], *actions: str | None, **options: Any) -> tuple[PeerResult, Heard]:
    """Run one peer call with the caller ``actions`` against a server sending ``steps``."""
    async with fastagi_server(steps) as (port, heard):
        script = CallerScript.of(*actions)
        result = await run_call("127.0.0.1", port, script_actions=script, idle_timeout=5, **options)
    return result, heard


def write_wav(path: Path, frames: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * frames)


@pytest.mark.parametrize(
    ("log", "callerid", "name"),
    [(AGI_CLI_ENV, "", ""), (AGI_WAV_ENV, "+15551234567", "Sim Caller")],
    ids=["agi_cli-no-callerid", "agi_wav"],
)
async def test_env_block_is_byte_identical_to_the_recording(
    log: str, callerid: str, name: str
) -> None:
    expected = recorded_bytes(log)
    fields = dict(re.findall(r"^(agi_\w+): (.*)$", expected.decode(), flags=re.MULTILINE))
    _, heard = await call(
        ["NOOP"], callerid=callerid, calleridname=name, uniqueid=fields["agi_uniqueid"],
        env_overrides={key: fields[key] for key in ("agi_channel", "agi_threadid")},
    )
    port = re.search(rb"agi_request: agi://127\.0\.0\.1:(\d+)/", heard.env)
    assert port is not None
    assert heard.env == expected.replace(b":4573/", b":" + port.group(1) + b"/")


async def test_agi_cli_session_replies() -> None:
    """agi_cli.txt: the caller keyed 12# during GET DATA silence/1 6000 4."""
    steps = [
        "ANSWER", 'STREAM FILE beep ""', "GET DATA silence/1 6000 4",
        "RECORD FILE /var/spool/asterisk/monitor/agi-rec-cli wav # 6000 0 s=0",
        "SET VARIABLE IVR_RESULT ok", "GET VARIABLE IVR_RESULT",
        "GET FULL VARIABLE ${CALLERID(num)}/${CHANNEL}", "CHANNEL STATUS",
        'VERBOSE "hello from python fastagi" 1',
    ]
    channel = "Local/s@ivr-in-00000013;2"
    result, heard = await call(
        steps, "12#", callerid="", calleridname="", env_overrides={"agi_channel": channel}
    )
    assert heard.lines == [
        "200 result=0", "200 result=0 endpos=3404", "200 result=12",
        "200 result=1 (timeout) endpos=16000", "200 result=1", "200 result=1 (ok)",
        f"200 result=1 (/{channel})", "200 result=6", "200 result=1",
    ]
    assert result.replies == heard.lines
    assert result.commands == steps
    assert result.variables == {"IVR_RESULT": "ok"}
    assert result.played == ["beep", "silence/1"]
    assert result.closed_by_server and not result.hung_up
    assert len(result.reply_times) == len(steps) and min(result.reply_times) >= 0


async def test_agi_wav_session_replies_and_the_queued_hash() -> None:
    """agi_wav.txt: 4711# into GET DATA beep 8000 4 gives 4711; the '#' reaches WAIT FOR DIGIT."""
    steps = [
        "ANSWER", "RECORD FILE /var/spool/asterisk/monitor/agi-rec-wav wav # 3000 0 s=0",
        "GET DATA beep 8000 4", "WAIT FOR DIGIT 3000", "SET VARIABLE IVR_RESULT ok",
    ]
    result, heard = await call(steps, "4711#")
    assert heard.lines == [
        "200 result=0", "200 result=1 (timeout) endpos=16000", "200 result=4711",
        "200 result=35", "200 result=1",
    ]
    assert result.replies == heard.lines


async def test_caller_hangs_up_mid_stream_file() -> None:
    """raw_agi_hangup.txt: -1, then HANGUP; 511 for channel commands, variables still work."""
    steps = [
        "ANSWER", 'STREAM FILE tt-monkeys ""', READ, 'STREAM FILE beep ""',
        "GET VARIABLE CHANNEL", "SET VARIABLE X 1", "WAIT FOR DIGIT 1000",
    ]
    result, heard = await call(steps, "hangup")
    channel = heard.env_value("agi_channel")
    assert heard.lines == [
        "200 result=0", "200 result=-1 endpos=1702", "HANGUP",
        "511 Command Not Permitted on a dead channel or intercept routine",
        f"200 result=1 ({channel})", "200 result=1",
        "511 Command Not Permitted on a dead channel or intercept routine",
    ]
    assert result.hung_up and result.variables == {"X": "1"}


async def test_missing_prompt_answers_minus_one_and_the_call_stays_up(tmp_path: Path) -> None:
    """res_agi handle_streamfile: `200 result=-1 endpos=0`, no HANGUP, the channel stays up."""
    write_wav(tmp_path / "en" / "beep.wav", 1600)
    write_wav(tmp_path / "custom" / "menu.wav", 8000)
    steps = [
        'STREAM FILE beep ""', 'STREAM FILE custom/menu ""', 'STREAM FILE no-such ""',
        "GET DATA no-such 1000 2", 'STREAM FILE no-such "" 800', "WAIT FOR DIGIT 1000",
    ]
    result, heard = await call(steps, "5", sounds_root=tmp_path)
    assert heard.lines == [
        "200 result=0 endpos=1600", "200 result=0 endpos=8000", "200 result=-1 endpos=0",
        "200 result=-1", "200 result=-1 endpos=800", "200 result=53",
    ]
    assert not result.hung_up and "HANGUP" not in result.replies
    assert result.played == ["beep", "custom/menu", "no-such", "no-such", "no-such"]


async def test_get_data_timeouts_and_hang_up() -> None:
    steps = [
        "GET DATA beep 3000 4", "GET DATA beep 3000 4", "GET DATA beep 3000 4",
        "GET DATA beep 3000 4", READ, "GET DATA beep 3000 4",
    ]
    result, heard = await call(steps, "12", None, "#", "hangup")
    assert heard.lines == [
        "200 result=12 (timeout)", "200 result= (timeout)", "200 result=",
        "200 result=-1", "HANGUP",
        "511 Command Not Permitted on a dead channel or intercept routine",
    ]
    assert result.hung_up


async def test_keys_wait_for_a_command_that_listens() -> None:
    """A prompt without escape digits leaves keys queued; one with them takes the first key."""
    steps = [
        'STREAM FILE beep ""', 'STREAM FILE beep "123"', "WAIT FOR DIGIT 2000",
        "WAIT FOR DIGIT 2000", "WAIT FOR DIGIT 0", 'STREAM FILE beep "#"',
    ]
    _, heard = await call(steps, "12", None, "3")
    assert heard.lines == [
        "200 result=0 endpos=3404", "200 result=49 endpos=1702", "200 result=50",
        "200 result=0", "200 result=0", "200 result=0 endpos=3404",
    ]


async def test_hangup_command_unknown_command_and_quoting() -> None:
    steps = [
        'SET VARIABLE GREETING "hello world"', "GET VARIABLE GREETING", "GET VARIABLE NOPE",
        "EXEC Playback beep", "FOO BAR", "WAIT FOR DIGIT", READ, READ, "HANGUP", READ, "ANSWER",
        "GET FULL VARIABLE ${CALLERID(name)}:${GREETING}",
    ]
    result, heard = await call(steps)
    assert heard.lines == [
        "200 result=1", "200 result=1 (hello world)", "200 result=0", "200 result=-2",
        "510 Invalid or unknown command",
        "520-Invalid command syntax.  Proper usage follows:", "Usage: WAIT FOR DIGIT",
        "520 End of proper usage.", "200 result=1", "HANGUP",
        "511 Command Not Permitted on a dead channel or intercept routine",
        "200 result=1 (Sim Caller:hello world)",
    ]
    assert result.replies == heard.lines
    assert result.hung_up and result.variables == {"GREETING": "hello world"}


async def test_idle_server_makes_the_peer_give_up() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never sends a command
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(TimeoutError, match="no AGI command"):
            await run_call("127.0.0.1", port, idle_timeout=0.2)


async def test_send_raw_returns_what_the_server_sent_before_closing() -> None:
    async with fastagi_server(["ANSWER"]) as (port, heard):
        sent = await send_raw("127.0.0.1", port, b"agi_network: yes\n\n", half_close=True)
    assert sent == b"ANSWER\n"
    assert heard.lines == [""]


async def test_concurrent_calls_get_their_own_channels() -> None:
    async with fastagi_server(["GET VARIABLE CHANNEL", "GET DATA beep 2000 1"]) as (port, _):
        results = await asyncio.gather(
            *(run_call("127.0.0.1", port, script_actions=CallerScript.of(str(n % 10)))
              for n in range(200))
        )
    assert len({result.replies[0] for result in results}) == 200
    assert all(result.replies[1] == f"200 result={n % 10}" for n, result in enumerate(results))


def test_caller_script_shorthand() -> None:
    script = CallerScript.of("9", None, "1#", "hangup", Silence())
    assert script.actions == [Press("9"), Silence(), Press("1#"), HangUp(), Silence()]
    with pytest.raises(ValueError, match="DTMF"):
        Press("12x")


async def test_commands_take_as_long_as_in_the_recorded_sessions() -> None:
    """agi_cli.txt and agi_wav.txt: beep played to its end in 0.42 s, RECORD FILE with s=0
    ran to its timeout (6.00 s, 3.00 s). Simulated: nothing sleeps."""
    steps = ['STREAM FILE beep ""', "RECORD FILE /tmp/agi-rec-cli wav # 6000 0 s=0",
             "RECORD FILE /tmp/agi-rec-wav wav # 3000 0 s=0"]
    result, _ = await call(steps)
    assert result.durations == pytest.approx([0.42, 6.0, 3.0], abs=0.01)
    assert sum(result.reply_times) < 1.0
    assert result.seconds_at(2) == pytest.approx(9.42, abs=1.0)


async def test_prompts_take_their_length_and_waits_their_timeout(tmp_path: Path) -> None:
    write_wav(tmp_path / "en" / "menu.wav", 16000)  # 2 s
    turn = tmp_path / "turn"
    steps = [
        'STREAM FILE menu ""', 'STREAM FILE menu "12"', "GET DATA menu 3000 1",
        "GET DATA menu 3000 1", "WAIT FOR DIGIT 1500", f"RECORD FILE {turn}-1 wav # 20000 0 s=1",
        f"RECORD FILE {turn}-2 wav # 2000 0",
    ]
    result, heard = await call(steps, "1", None, "2", None, None, None, sounds_root=tmp_path,
                               records_silence=True)
    # played in full; cut by a key (half, as its endpos says); prompt + timeout; a key while
    # the prompt plays; the timeout; silence ends a recording after s=1; else its timeout.
    assert result.durations == pytest.approx([2.0, 1.0, 5.0, 1.0, 1.5, 1.0, 2.0])
    assert heard.lines[-2:] == ["200 result=1 (timeout) endpos=8000",
                                "200 result=1 (timeout) endpos=16000"]
    for path, frames in ((f"{turn}-1.wav", 8000), (f"{turn}-2.wav", 16000)):
        with wave.open(path, "rb") as wav:  # the silence Asterisk recorded
            assert wav.getnframes() == frames
