"""Hostile caller ids and stored text never reach the operator's terminal raw (real `ivr`
processes on a real database)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from ivr.config import load_settings
from ivr.store.db import make_engine, upgrade
from ivr.store.models import CallRow
from ivr.store.writer import CallRecorder, EventWriter
from ivr.testing.fake_recordings import tone_wav

TITLE_AND_CLEAR = "\x1b]0;pwned\x07\x1b[2J\r\x9b31m[bold red]x"
"""Retitles the terminal, clears it, returns the cursor, a C1 CSI, and rich markup."""
BIDI = "+1555\u202e0199\u2066\u200b"
"""A right-to-left override, an isolate and a zero-width space: reorders what is shown."""
OLD_CALL, NEW_CALL = "0ld0000000000000000000000000call", "new0000000000000000000000000call"


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Output exactly as the terminal would get it (no newline translation hiding a \\r)."""
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=120,
                          env={**os.environ, "IVR_DATA_DIR": str(cwd)})
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


def ivr(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = run(sys.executable, "-m", "ivr", "--data-dir", str(data), *args, cwd=data)
    assert proc.returncode == 0, f"ivr {' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
    return proc


def raw_controls(text: str) -> list[str]:
    """Characters a terminal would act on or reorder (newlines between lines are fine)."""
    return [f"U+{ord(ch):04X}" for ch in text
            if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\n"]


async def store_calls(url: str) -> None:
    """One call as a release that did not clean values wrote it (or one rebuilt from a
    spool manifest), one through today's writer from a caller sending bidi controls."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(CallRow).values(
                id=OLD_CALL, transport="agi", route="hotline", caller=TITLE_AND_CLEAR,
                caller_name="\x1b[31mBoss", started_at=datetime(2026, 1, 5, tzinfo=UTC),
                outcome="queued", queue="card\x1b[8m"))
        writer = EventWriter(engine)
        call = CallRecorder(writer, NEW_CALL)
        call.start(transport="webrtc", route="hotline", caller=BIDI)
        call.event("turn", "main_menu", transcript=f"I lost my card {BIDI}", mode="speech",
                   result="card_lost")
        call.update(outcome="self_served", ended_at=datetime.now(UTC))
        assert await writer.flush()
    finally:
        await engine.dispose()


def test_hostile_caller_ids_are_shown_escaped_in_every_listing(tmp_path: Path) -> None:
    url = load_settings(str(tmp_path)).database_url
    upgrade(url)
    asyncio.run(store_calls(url))
    (tmp_path / "call.wav").write_bytes(tone_wav(1.0))
    ivr(tmp_path, "recordings", "import", "call.wav", "--call-id", OLD_CALL)
    rid = json.loads(ivr(tmp_path, "recordings", "list", "--json").stdout)[0]["id"]
    ivr(tmp_path, "recordings", "export", rid, "-o", "out.wav", "--reason", TITLE_AND_CLEAR)

    shown = {" ".join(args): ivr(tmp_path, *args) for args in (
        ("calls", "list"), ("calls", "list", "--json"), ("calls", "show", OLD_CALL),
        ("calls", "show", NEW_CALL), ("recordings", "list"), ("recordings", "list", "--json"),
        ("audit", "list"))}
    for command, proc in shown.items():
        assert raw_controls(proc.stdout + proc.stderr) == [], command

    listing = shown["calls list"].stdout
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\r\\x9b31m[bold red]x" in listing  # visible, not acted on
    assert "+1555\\u202e0199\\u2066\\u200b" in listing and "card\\x1b[8m" in listing
    assert len(listing.splitlines()) == 2  # a \r or \n in a value cannot forge a row
    assert "\\x1b]0;pwned" in shown["recordings list"].stdout
    assert "\\x1b]0;pwned" in shown["audit list"].stdout
    assert "I lost my card +1555\\u202e" in shown[f"calls show {NEW_CALL}"].stdout
    # JSON consumers get the exact values back.
    calls = json.loads(shown["calls list --json"].stdout)["calls"]
    assert {c["caller"] for c in calls} == {TITLE_AND_CLEAR, BIDI}
    assert json.loads(shown["recordings list --json"].stdout)[0]["caller"] == TITLE_AND_CLEAR


def test_log_lines_show_control_characters_escaped(tmp_path: Path) -> None:
    code = ("import logging; from ivr.logs import setup_logging; setup_logging(); "
            f"logging.getLogger('ivr.telephony').warning('caller %s', {TITLE_AND_CLEAR!r})")
    proc = run(sys.executable, "-c", code, cwd=tmp_path)
    assert "caller \\x1b]0;pwned\\x07" in proc.stderr and raw_controls(proc.stderr) == []
