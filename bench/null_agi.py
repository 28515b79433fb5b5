"""The floor for `bench.scale`: a FastAGI server with no flow at all.

It reads Asterisk's environment block, then sends the commands Hotline sent on one recorded
call, one by one, reading one reply line after each, and closes. Whatever reply time the
callers measure against it is what this machine, the load generator and TCP cost.

    python -m bench.null_agi --port PORT --commands FILE   (FILE: one AGI command a line)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path


async def serve(port: int, commands: list[bytes]) -> None:
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():  # the environment block ends with a blank line
            pass
        for command in commands:
            writer.write(command)
            await writer.drain()
            if not await reader.readline():
                break
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


@contextlib.asynccontextmanager
async def serving(commands: list[str]) -> AsyncIterator[int]:
    """The null responder on a free loopback port (yields the port) until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = asyncio.create_task(serve(port, [f"{c}\n".encode() for c in commands]))
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.05)
        yield port
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.null_agi")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--commands", type=Path, required=True)
    args = parser.parse_args()
    commands = [line.encode() + b"\n" for line in args.commands.read_text().splitlines()]
    asyncio.run(serve(args.port, commands))


if __name__ == "__main__":
    main()
