"""Real ``ivr serve`` subprocesses for tests: the command, free ports, waiting until live."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def ivr_command() -> list[str]:
    """The ``ivr`` console script a user runs (the one installed next to this Python)."""
    script = Path(sys.executable).with_name("ivr")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ivr"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_live(proc: subprocess.Popen[bytes], url: str, log: Path,
                    timeout: float = 600.0) -> None:
    """Until ``url``/healthz answers 200; raises with the log's tail when the server exits or
    ``timeout`` passes (start-up renders prompts and loads models: slow on a busy CI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ivr serve exited {proc.returncode}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"ivr serve not live after {timeout:.0f} s:\n"
                         f"{log.read_text(errors='replace')[-3000:]}")
