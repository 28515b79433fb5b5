"""`ivr keys`, `ivr recordings`, `ivr retention` as an operator runs them (real processes),
and a process killed mid-recording."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from .helpers import frame_offsets, speechlike, wav_samples, write_wav


def ivr(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "ivr", "--data-dir", str(cwd), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "IVR_DATA_DIR": str(cwd)})
    if check and proc.returncode != 0:
        raise AssertionError(f"ivr {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
    return proc


def test_import_list_export_audit_on_an_empty_data_dir(tmp_path: Path) -> None:
    pcm = speechlike(3.0)
    write_wav(tmp_path / "call.wav", pcm)
    first = ivr("recordings", "import", "call.wav", "--call-id", "legacy-7", cwd=tmp_path)
    assert "created recording key" in first.stderr  # first need creates the key, and says so
    assert "placeholder" in first.stderr
    keys = list((tmp_path / "var" / "keys").glob("*.key"))
    assert len(keys) == 1 and oct(keys[0].stat().st_mode & 0o777) == "0o600"
    listed = json.loads(ivr("recordings", "list", "--json", cwd=tmp_path).stdout)
    assert len(listed) == 1 and {"id", "call_id", "duration", "created"} <= set(listed[0])
    rid = listed[0]["id"]
    assert listed[0]["call_id"] == "legacy-7" and listed[0]["duration"] == 3.0
    ivr("recordings", "export", rid, "-o", "out.wav", "--reason", "complaint 12", cwd=tmp_path)
    assert wav_samples(tmp_path / "out.wav")[1] == pcm
    audit = json.loads(ivr("audit", "list", "--json", "--subject", rid, cwd=tmp_path).stdout)
    decrypts = [a for a in audit if a["action"] == "recording.decrypt"]
    assert {a["outcome"] for a in decrypts} == {"started", "success"}
    assert all(a["actor"].startswith("cli:") and a["reason"] == "complaint 12"
               and a["subject"] == rid for a in decrypts)
    piped = subprocess.run([sys.executable, "-m", "ivr", "--data-dir", str(tmp_path),
                            "recordings", "play", rid], capture_output=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout == (tmp_path / "out.wav").read_bytes()


def test_tampered_recording_exits_1_and_leaves_no_output(tmp_path: Path) -> None:
    write_wav(tmp_path / "call.wav", speechlike(2.0))
    ivr("recordings", "import", "call.wav", "--call-id", "c1", cwd=tmp_path)
    rid = json.loads(ivr("recordings", "list", "--json", cwd=tmp_path).stdout)[0]["id"]
    path = tmp_path / "recordings" / f"{rid}.rec"
    start, end = frame_offsets(path)[-1]
    data = bytearray(path.read_bytes())
    data[end - 1] ^= 0x80  # the last chunk: everything before it authenticates
    path.write_bytes(bytes(data))
    proc = ivr("recordings", "export", rid, "-o", "out.wav", "--reason", "x", cwd=tmp_path,
               check=False)
    assert proc.returncode == 1 and "rec-auth-failed" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call.wav", "recordings", "var"]
    missing = ivr("recordings", "export", "nope", "-o", "o.wav", "--reason", "x", cwd=tmp_path,
                  check=False)
    assert missing.returncode == 1 and "rec-not-found" in missing.stderr


def test_keys_rotate_retire_destroy(tmp_path: Path) -> None:
    pcm = speechlike(1.0)
    write_wav(tmp_path / "call.wav", pcm)
    ivr("recordings", "import", "call.wav", "--call-id", "c1", cwd=tmp_path)
    old = json.loads(ivr("keys", "list", "--json", cwd=tmp_path).stdout)[0]["id"]
    refused = ivr("keys", "retire", old, "--destroy", cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "rotate" in refused.stderr
    rotated = json.loads(ivr("keys", "rotate", "--mode", "asymmetric", "--json",
                             cwd=tmp_path).stdout)
    assert rotated["rewrapped"] == 1 and rotated["failed"] == []
    ivr("keys", "retire", old, "--destroy", cwd=tmp_path)
    keys = {k["id"]: k for k in json.loads(ivr("keys", "list", "--json", cwd=tmp_path).stdout)}
    assert keys[old]["status"] == "destroyed" and keys[rotated["key"]]["current"]
    rid = json.loads(ivr("recordings", "list", "--json", cwd=tmp_path).stdout)[0]["id"]
    ivr("recordings", "export", rid, "-o", "out.wav", "--reason", "after rotation",
        cwd=tmp_path)
    assert wav_samples(tmp_path / "out.wav")[1] == pcm
    assert "secret" not in ivr("keys", "list", "--json", cwd=tmp_path).stdout


def test_retention_dry_run_apply_and_hold(tmp_path: Path) -> None:
    write_wav(tmp_path / "call.wav", speechlike(0.5))
    ivr("recordings", "import", "call.wav", "--call-id", "c1", cwd=tmp_path)
    ivr("recordings", "import", "call.wav", "--call-id", "c2", cwd=tmp_path)
    (tmp_path / "ivr.toml").write_text("[recording.retention]\nrecordings_days = 0\n")
    ivr("retention", "hold", "c2", "--reason", "dispute", cwd=tmp_path)
    dry = json.loads(ivr("retention", "purge", "--json", cwd=tmp_path).stdout)
    assert not dry["applied"] and len(dry["recordings"]) == 1
    assert len(json.loads(ivr("recordings", "list", "--json", cwd=tmp_path).stdout)) == 2
    done = json.loads(ivr("retention", "purge", "--apply", "--json", cwd=tmp_path).stdout)
    assert done["applied"] and done["recordings"] == dry["recordings"]
    left = json.loads(ivr("recordings", "list", "--json", cwd=tmp_path).stdout)
    assert [r["call_id"] for r in left] == ["c2"]


KILLER = textwrap.dedent("""
    import asyncio, os, signal, sys
    from ivr.config import load_settings
    from ivr.datadir import prepare
    from ivr.commands.recordings import ensure_key, make_store
    from ivr.recording.crypto import AudioFormat
    from ivr.store.db import make_engine

    async def main():
        settings = load_settings(sys.argv[1])
        prepare(settings)
        ensure_key(settings, print)
        store = make_store(settings, make_engine(settings.database_url))
        await store.ensure_call("killed-1")
        active = await store.begin("killed-1", AudioFormat(), source="stream")
        pcm = open(sys.argv[2], "rb").read()
        await store.write(active, pcm)
        print(active.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
""")


def test_a_server_killed_mid_recording_leaves_a_readable_incomplete_recording(
        tmp_path: Path) -> None:
    pcm = speechlike(10.0)  # 160 000 bytes: 2 whole 64 KiB chunks, the rest still buffered
    (tmp_path / "pcm.raw").write_bytes(pcm)
    proc = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path), str(tmp_path /
                                                                           "pcm.raw")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    rid = proc.stdout.split()[-1]
    assert (tmp_path / "recordings" / f"{rid}.rec.part").exists()
    sealed = ivr("recordings", "seal", "--json", cwd=tmp_path)
    assert json.loads(sealed.stdout)["recovered"] == [rid]
    listed = json.loads(ivr("recordings", "list", "--json", cwd=tmp_path).stdout)
    assert listed[0]["complete"] is False
    plain = ivr("recordings", "export", rid, "-o", "o.wav", "--reason", "x", cwd=tmp_path,
                check=False)
    assert plain.returncode == 1 and "rec-incomplete" in plain.stderr
    assert not (tmp_path / "o.wav").exists()
    ivr("recordings", "export", rid, "-o", "o.wav", "--reason", "x", "--allow-incomplete",
        cwd=tmp_path)
    assert wav_samples(tmp_path / "o.wav")[1] == pcm[:2 * 65536]
