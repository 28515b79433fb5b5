"""FastAGI's line transport (``AgiLines``) over a real loopback socket: what Asterisk sends,
however TCP cuts it, comes out as the same lines; garbage ends the session cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ivr.telephony.agi_lines import AgiLines

Pair = tuple[AgiLines, asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[AgiLines] = loop.create_future()
    server = await loop.create_server(lambda: AgiLines(64, accepted.set_result), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = await asyncio.wait_for(accepted, 5)
    yield lines, reader, writer
    writer.close()
    lines.close()
    server.close()


async def test_lines_cut_anywhere_by_tcp_come_out_whole(pair: Pair) -> None:
    lines, _, writer = pair
    sent = b"agi_network: yes\nagi_request: agi://x/hotline\n\n200 result=0\nHANGUP\n"
    for i in range(len(sent)):  # one byte at a time: every possible cut
        writer.write(sent[i:i + 1])
        await writer.drain()
    got = [await asyncio.wait_for(lines.readline(), 5) for _ in range(5)]
    assert got == [b"agi_network: yes", b"agi_request: agi://x/hotline", b"", b"200 result=0",
                   b"HANGUP"]


async def test_commands_reach_the_peer_and_close_is_end_of_stream(pair: Pair) -> None:
    lines, reader, writer = pair
    lines.write(b"ANSWER\n")
    await lines.drain()
    assert await asyncio.wait_for(reader.readline(), 5) == b"ANSWER\n"
    writer.write(b"200 result=0\n200 resu")  # then Asterisk hangs up mid-line
    writer.close()
    assert await asyncio.wait_for(lines.readline(), 5) == b"200 result=0"
    with pytest.raises(asyncio.IncompleteReadError) as cut:
        await asyncio.wait_for(lines.readline(), 5)
    assert cut.value.partial == b"200 resu"
    with pytest.raises(asyncio.IncompleteReadError) as end:  # and stays at its end
        await lines.readline()
    assert end.value.partial == b""


async def test_a_line_over_the_limit_ends_reading(pair: Pair) -> None:
    lines, _, writer = pair
    writer.write(b"200 result=1\n" + b"9" * 65 + b"\n200 result=0\n")
    assert await asyncio.wait_for(lines.readline(), 5) == b"200 result=1"
    for _ in range(2):
        with pytest.raises(asyncio.LimitOverrunError):
            await asyncio.wait_for(lines.readline(), 5)


async def test_an_endless_line_without_newline_is_refused_too(pair: Pair) -> None:
    lines, _, writer = pair
    writer.write(b"x" * 200)
    with pytest.raises(asyncio.LimitOverrunError):
        await asyncio.wait_for(lines.readline(), 5)


async def test_a_flood_of_lines_pauses_reading_and_loses_none(pair: Pair) -> None:
    lines, _, writer = pair
    writer.write(b"".join(b"200 result=%d\n" % i for i in range(1000)))
    await writer.drain()
    got = [await asyncio.wait_for(lines.readline(), 5) for _ in range(1000)]
    assert got == [b"200 result=%d" % i for i in range(1000)]


async def test_the_reply_watchdog_fails_the_waiting_read_and_every_later_one(pair: Pair) -> None:
    lines, _, _ = pair
    read = asyncio.create_task(lines.readline())
    await asyncio.sleep(0.01)
    lines.set_exception(TimeoutError("no reply in time"))
    with pytest.raises(TimeoutError):
        await read
    with pytest.raises(TimeoutError):
        await lines.readline()


async def test_writing_after_the_peer_left_is_a_connection_error(pair: Pair) -> None:
    lines, _, writer = pair
    writer.close()
    with pytest.raises(asyncio.IncompleteReadError):
        await asyncio.wait_for(lines.readline(), 5)
    lines.close()
    await asyncio.wait_for(lines.wait_closed(), 5)
    with pytest.raises(ConnectionResetError):
        lines.write(b"SET VARIABLE IVR_OUTCOME queued\n")
