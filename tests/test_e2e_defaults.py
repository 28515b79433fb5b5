"""The defaults, end to end, as a new user meets them (issue 13).

The real ``ivr serve`` runs as a subprocess on a fresh ``--data-dir`` after ``ivr demo seed``,
with every setting at its default (recording on, SQLite) except the dialplan folder: the
shipped hotline, open around the clock (conftest's ``dialplan_dir``). Two callers phone it
at once: a softphone caller who says "I lost my card" (``ivr call``), a Mandarin softphone
caller who says 我的卡丢了 (``ivr call --language zh-CN --say-file``), and a FastAGI caller
pressing keys (the recorded-Asterisk peer, MixMonitor writing into the spool). Both must be
served and both recordings must exist, encrypted, with no plaintext left in the spool.
The same runs on PostgreSQL when ``IVR_TEST_PG_URL`` is set (``make test`` sets it).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ivr.flow.settings import DialplanSettings
from ivr.testing.agi_peer import PeerResult, run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.mandarin import SpeechVoice
from ivr.testing.postgres import reset_postgres
from ivr.testing.processes import free_port, ivr_command, wait_until_live

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("IVR_TEST_PG_URL")
START_SECONDS = 600.0
"""Start-up renders every prompt and loads the speech and intent models: slow on a busy CI."""
PROMPT_VOICE = SpeechVoice("prompts", "", 50, 165)
"""espeak-ng ``cmn-latn-pinyin`` as the prompts speak (a caller who sounds like them)."""
CALLER = "+15550100999"
"""A number no demo customer calls from: verification cannot know the caller."""


@dataclass
class Server:
    """One ``ivr serve`` subprocess and how to reach it."""

    data_dir: Path
    env: dict[str, str]
    http_url: str
    agi_port: int
    log: Path

    def ivr(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``ivr --data-dir DIR ARGS`` as the user would, next to the server."""
        return subprocess.run([*ivr_command(), "--data-dir", str(self.data_dir), *args],
                              cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def ivr_json(self, *args: str) -> Any:
        done = self.ivr(*args, "--json")
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           dialplan_dir: Path) -> Iterator[Server]:
    """``ivr demo seed`` then ``ivr serve`` on a fresh data dir, defaults everywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env["IVR_DIALPLANS__DIR"] = str(dialplan_dir)
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("IVR_TEST_PG_URL not set (make test starts PostgreSQL and sets it)")
        reset_postgres(PG_URL)  # ivr migrates from nothing, as on a first install
        env["IVR_STORE__URL"] = PG_URL
    data_dir = tmp_path_factory.mktemp(f"fresh-{request.param}")
    http_port, agi_port = free_port(), free_port()
    srv = Server(data_dir, env, f"http://127.0.0.1:{http_port}", agi_port,
                 tmp_path_factory.mktemp("logs") / "serve.log")
    seeded = srv.ivr("demo", "seed")
    assert seeded.returncode == 0, seeded.stderr
    with srv.log.open("wb") as log:
        proc = subprocess.Popen(
            [*ivr_command(), "--data-dir", str(data_dir), "serve",
             "--agi-bind", f"127.0.0.1:{agi_port}", "--http-bind", f"127.0.0.1:{http_port}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_live(proc, srv.http_url, srv.log, START_SECONDS)
        yield srv
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Calls:
    """What the two callers experienced."""

    softphone: subprocess.CompletedProcess[str]
    agi: PeerResult
    mandarin: subprocess.CompletedProcess[str]

    @property
    def report(self) -> dict[str, Any]:
        return self._report(self.softphone)

    @property
    def mandarin_report(self) -> dict[str, Any]:
        return self._report(self.mandarin)

    @staticmethod
    def _report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    @property
    def agi_call_id(self) -> str:
        first = next(c for c in self.agi.commands if c.startswith("EXEC MixMonitor "))
        return Path(first.split(" ", 2)[2]).name.rsplit("-", 1)[0]


@pytest.fixture(scope="module")
def calls(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Calls:
    """``ivr call`` saying "I lost my card" while a FastAGI caller keys 1 (English) then 3
    (lost card); then ``ivr call`` saying 我的卡丢了 (rendered speech, 8 kHz μ-law)."""
    from ivr.audio.wav import encode_wav
    from ivr.testing.mandarin import speak, telephone

    said = tmp_path_factory.mktemp("mandarin") / "我的卡丢了.wav"
    said.write_bytes(encode_wav(telephone(speak("我的卡丢了", PROMPT_VOICE), 8000), 8000))
    def call(*steps: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*ivr_command(), "--data-dir", str(server.data_dir), "call", "--url",
             server.http_url, *steps, "--json"],
            cwd=ROOT, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(caller: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
        out, err = caller.communicate(timeout=180)
        assert caller.returncode is not None
        return subprocess.CompletedProcess(caller.args, caller.returncode, out, err)

    softphone = call("--language", "en-US", "--say", "I lost my card")
    agi = asyncio.run(run_call(
        "127.0.0.1", server.agi_port, script_actions=CallerScript.of("1", "3"), callerid=CALLER,
        sounds_root=server.data_dir / "var" / "sounds", mixmonitor=True, idle_timeout=60))
    english = finish(softphone)
    # then the Mandarin caller (two decoders by default: the English ones are done)
    mandarin = finish(call("--language", "zh-CN", "--say-file", str(said)))
    return Calls(english, agi, mandarin)


def apologies() -> set[str]:
    return set(DialplanSettings().apology.values())


def stored(server: Server, call_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The call's row once it has ended, and its events (``ivr calls show``)."""
    for _ in range(100):
        shown = server.ivr_json("calls", "show", call_id)
        if shown["call"]["ended_at"]:
            return shown["call"], shown["events"]
        time.sleep(0.2)
    raise AssertionError(f"call {call_id} never ended in the store")


def test_a_softphone_caller_is_understood_and_served(server: Server, calls: Calls) -> None:
    report = calls.report
    assert report["error"] is None and report["outcome"] != "failed", report
    assert not apologies() & set(report["prompts"]), report["prompts"]
    assert (report["outcome"], report["queue"]) == ("queued", "card_services")
    said = [h for h in report["heard"] if h.get("mode") == "speech" and h.get("text")]
    assert said and "card" in said[0]["text"].lower()
    row, events = stored(server, report["call_id"])
    assert row["error_code"] is None and row["transport"] == "webrtc"
    intents = [e["data"]["intent"] for e in events if e["kind"] == "intent"]
    assert intents[:1] == ["card_lost"], intents
    assert not [e for e in events if e["kind"] in ("error", "alert")], events


def test_a_mandarin_softphone_caller_is_understood_and_served(server: Server,
                                                              calls: Calls) -> None:
    """Mandarin is voice-first by default: 我的卡丢了, said once, reaches the card team."""
    report = calls.mandarin_report
    assert report["error"] is None and report["outcome"] != "failed", report
    assert (report["outcome"], report["queue"]) == ("queued", "card_services"), report
    said = [h for h in report["heard"] if h.get("mode") == "speech" and h.get("text")]
    assert said and "卡" in said[0]["text"], report["heard"]
    row, events = stored(server, report["call_id"])
    assert row["language"] == "zh-CN" and row["error_code"] is None
    intents = [e["data"]["intent"] for e in events if e["kind"] == "intent"]
    assert intents[:1] == ["card_lost"], intents
    assert not [e for e in events if e["kind"] in ("error", "alert")], events
    # heard by Whisper base with Hotline's domain adapter merged in, as the start-up says
    started = server.log.read_text(errors="replace")
    assert "speech: zh-CN by whisper (whisper-base-zh-" in started, started[-3000:]


def test_a_fastagi_caller_pressing_keys_reaches_a_queue(server: Server, calls: Calls) -> None:
    result = calls.agi
    assert result.closed_by_server and not result.hung_up
    assert result.variables == {"IVR_QUEUE": "card_services", "IVR_PRIORITY": "7",
                                "IVR_OUTCOME": "queued"}
    row, events = stored(server, calls.agi_call_id)
    assert (row["outcome"], row["queue"], row["error_code"]) == ("queued", "card_services", None)
    assert row["caller"] == CALLER and row["transport"] == "agi"
    prompts = {e["data"]["text"] for e in events if e["kind"] == "prompt"}
    assert not apologies() & prompts
    assert not [e for e in events if e["kind"] in ("error", "alert")], events


def test_both_calls_are_recorded_encrypted_and_no_plaintext_stays(
        server: Server, calls: Calls, tmp_path: Path) -> None:
    wanted = {calls.report["call_id"], calls.agi_call_id}
    spool = server.data_dir / "var" / "spool"
    deadline = time.monotonic() + 60
    while True:  # the spool sealer runs every second, once segments settle (2 s)
        listed = [r for r in server.ivr_json("recordings", "list") if r["call_id"] in wanted]
        plaintext = sorted(p.name for p in spool.glob("*.wav")) if spool.exists() else []
        if len(listed) == 2 and all(r["complete"] for r in listed) and not plaintext:
            break
        assert time.monotonic() < deadline, (listed, plaintext)
        time.sleep(0.5)
    assert {r["call_id"] for r in listed} == wanted
    for rec in listed:
        assert rec["duration"] > 1.0, rec
        sealed = (server.data_dir / "recordings" / f"{rec['id']}.rec").read_bytes()
        assert not sealed.startswith(b"RIFF") and b"WAVEfmt " not in sealed
        # Decrypted (audited), the audio is there; none of it appears in the file as is.
        out = tmp_path / f"{rec['id']}.wav"
        done = server.ivr("recordings", "export", rec["id"], "-o", str(out), "--reason", "e2e")
        assert done.returncode == 0, done.stderr
        pcm = out.read_bytes()[44:]
        sounding = [pcm[i:i + 256] for i in range(0, len(pcm) - 256, 256)
                    if len(set(pcm[i:i + 256])) > 64]
        assert sounding, rec
        assert not [w for w in sounding[::10] if w in sealed]
