"""A fake Asterisk 22 that calls a FastAGI server over TCP and plays a scripted caller.

Every byte follows the sessions recorded from Asterisk 22.10.1 in
/work/shared/asterisk/sessions (agi_cli.txt, agi_wav.txt, agi_short.txt, raw_agi_hangup.txt)
or, where they say nothing, Asterisk's res_agi.c (``handle_*``, ``run_agi``) and app.c
(``ast_app_getdata_full``); each behaviour names its source.

The caller's ``Press``/``Silence``/``HangUp`` actions are taken in order. A ``HangUp`` by the
next STREAM FILE, SAY, GET DATA, WAIT FOR DIGIT or RECORD FILE; a ``Press`` by the next of
those that accepts its first key (its other keys stay queued); a ``Silence`` by the next that
listens for keys. Once the script is used up the caller stays silent on the line.

Nothing waits in real time: each command's duration on a real line is simulated instead
(ivr.testing.agi_timing; ``PeerResult.durations`` and ``seconds_at``).

Peer limits: EXEC runs no application
(``200 result=-2``, res_agi's answer for one not loaded), except MixMonitor and
StopMixMonitor under ``run_call(mixmonitor=True)`` (ivr.testing.mixmonitor writes the files);
Asterisk commands missing from ``_COMMANDS`` (DATABASE, GET OPTION, SPEECH...) get 510; a 520
reply has res_agi's first and last lines but not its usage text. When the server closes,
Asterisk writes one more ``HANGUP`` into the closed socket (``run_agi``); nobody can read it,
so the peer omits it.

Parts: :mod:`~ivr.testing.agi_script` (the caller), :mod:`~ivr.testing.agi_wire` (env block,
command lines, fixed replies), :mod:`~ivr.testing.agi_channel` (commands in, replies out) and
:mod:`~ivr.testing.agi_timing` (the simulated clock); this module connects them to a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.testing.agi_channel import SimulatedChannel
from ivr.testing.agi_script import CallerScript
from ivr.testing.agi_wire import ENCODING, ERRORS, agi_environment, encode_environment
from ivr.testing.mixmonitor import SimulatedMixMonitor


@dataclass
class PeerResult:
    """Everything one simulated call saw and sent."""

    commands: list[str]  # every command line received, without the trailing newline
    replies: list[str]  # every line sent after the env block, HANGUP lines included
    variables: dict[str, str]  # from SET VARIABLE
    hung_up: bool  # the caller hung up (script) or the server sent the HANGUP command
    closed_by_server: bool  # the server closed first (the peer only quits on idle_timeout)
    reply_times: list[float]  # per command: seconds since the previous reply (or env block)
    played: list[str]  # file names given to STREAM FILE / GET DATA, in order
    recorded: list[Path] = field(default_factory=list)  # files MixMonitor wrote (mixmonitor=True)
    durations: list[float] = field(default_factory=list)
    """Per command: simulated seconds Asterisk would spend on it (prompt played, timeout)."""

    def seconds_at(self, index: int) -> float:
        """Seconds from the env block to the reply to command ``index``, as on a real line:
        the simulated durations of the commands plus the server's real time between them."""
        return sum(self.reply_times[: index + 1]) + sum(self.durations[: index + 1])


async def _read_command(reader: asyncio.StreamReader, idle_timeout: float) -> bytes:
    """The next command line; b"" once the server closed."""
    try:
        async with asyncio.timeout(idle_timeout):
            return await reader.readline()
    except TimeoutError:
        raise TimeoutError(
            f"no AGI command for {idle_timeout}s: Asterisk would keep the channel in AGI() for "
            "ever (the peer gives up so that tests cannot hang)"
        ) from None
    except ConnectionError:
        return b""


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def run_call(
    host: str, port: int, *, script: str = "hotline", script_actions: CallerScript | None = None,
    callerid: str = "+15551234567", calleridname: str = "Sim Caller", language: str = "en",
    dnid: str = "unknown", uniqueid: str | None = None, sounds_root: Path | None = None,
    idle_timeout: float = 30.0, env_overrides: dict[str, str] | None = None,
    reply_delay: Callable[[str], float] | None = None, mixmonitor: bool = False,
    records_silence: bool = False,
    tamper: Callable[[str, list[str]], list[str]] | None = None,
) -> PeerResult:
    """Place one call into the FastAGI server at host:port and play ``script_actions``.

    ``reply_delay(command)`` gives seconds to hold each reply (a prompt takes time to play);
    the benchmark uses it to keep many calls in flight at a realistic pace.
    ``records_silence``: a silent caller's RECORD FILE writes silence, as on a real line.
    ``tamper(command, replies)`` gives the lines actually sent instead of the channel's
    replies: garbage for protocol tests, ``[]`` for an Asterisk that stops answering.

    Returns when the server closes the socket (the dialplan would go on). Like Asterisk the
    peer never ends a session itself; as a test safety net it raises TimeoutError after
    ``idle_timeout`` s without a command. Empty ``callerid`` and ``calleridname`` give
    agi_cli.txt's block without caller id; ``sounds_root`` makes missing prompts fail.
    """
    env = agi_environment(
        host, port, script=script, callerid=callerid, calleridname=calleridname,
        language=language, dnid=dnid, uniqueid=uniqueid, overrides=env_overrides,
    )
    channel = SimulatedChannel(env, script_actions.actions if script_actions else (), sounds_root,
                               SimulatedMixMonitor() if mixmonitor else None, records_silence)
    result = PeerResult([], [], channel.variables, False, False, [], channel.played,
                        durations=channel.durations)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(encode_environment(env))
        with contextlib.suppress(ConnectionError):  # a server that hung up at once reads EOF
            await writer.drain()
        sent_at = time.perf_counter()
        while raw := await _read_command(reader, idle_timeout):
            result.reply_times.append(time.perf_counter() - sent_at)
            line = raw.decode(ENCODING, ERRORS).removesuffix("\n")
            result.commands.append(line)
            replies = channel.execute(line)
            if replies is None:  # e.g. WAIT FOR DIGIT -1 with a caller who never keys
                await asyncio.sleep(idle_timeout)
                raise TimeoutError(f"{line!r} waits for ever: the scripted caller never acts")
            if tamper is not None:
                replies = tamper(line, replies)
            result.replies.extend(replies)
            if reply_delay is not None and (delay := reply_delay(line)) > 0:
                await asyncio.sleep(delay)
            writer.write("".join(f"{reply}\n" for reply in replies).encode(ENCODING, ERRORS))
            with contextlib.suppress(ConnectionError):  # the server left; its EOF comes next
                await writer.drain()
            sent_at = time.perf_counter()
        result.closed_by_server = True
    finally:
        await _close(writer)
    result.hung_up = channel.dead
    if channel.mixmonitor is not None:
        channel.mixmonitor.channel_gone()  # the channel is destroyed: files close
        result.recorded = list(channel.mixmonitor.files)
    return result


async def send_raw(
    host: str, port: int, data: bytes, *, read_timeout: float = 5.0, half_close: bool = False
) -> bytes:
    """Connect, send ``data`` as is (then EOF if ``half_close``) and return everything the
    server sent until it closed. TimeoutError if it keeps the socket open past
    ``read_timeout``: a server must end every session itself (README)."""
    reader, writer = await asyncio.open_connection(host, port)
    received = bytearray()
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(data)
            await writer.drain()
            if half_close and writer.can_write_eof():
                writer.write_eof()
        async with asyncio.timeout(read_timeout):
            with contextlib.suppress(ConnectionError):
                while chunk := await reader.read(65536):
                    received += chunk
    except TimeoutError:
        raise TimeoutError(f"server kept the socket open; it sent {bytes(received)!r}") from None
    finally:
        await _close(writer)
    return bytes(received)
