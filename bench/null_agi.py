"""The floor for `bench.scale`: a FastAGI server with no flow at all.

It reads Asterisk's environment block, then sends the commands Hotline sent on one recorded
call, one by one, reading one reply line after each, and closes. Whatever reply time the
callers measure against it is what this machine, the load generator and TCP cost.

    python -m bench.null_agi --port PORT --commands FILE   (FILE: one AGI command a line)

:class:`NullResponder` runs it in a subprocess for the benches (bench.scale, bench.agi_calls).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port = free_port()
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


class NullResponder:
    """This module in a subprocess on a free loopback port (``agi_port``), answering with
    the commands in the file ``commands``."""

    def __init__(self, commands: Path) -> None:
        self.agi_port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.null_agi", "--port", str(self.agi_port),
             "--commands", str(commands)], cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.agi_port), 1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the null responder did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.null_agi")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--commands", type=Path, required=True)
    args = parser.parse_args()
    commands = [line.encode() + b"\n" for line in args.commands.read_text().splitlines()]
    asyncio.run(serve(args.port, commands))


if __name__ == "__main__":
    main()
