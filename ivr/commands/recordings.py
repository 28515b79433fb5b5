"""``ivr keys``, ``ivr recordings`` and ``ivr retention`` commands.

The command line acts as the local operator (whoever can read the key files) and is
audited as ``cli:<os user>``. Exit codes: 0 success; 1 the recording failed (authentication,
incomplete, not found); 2 missing setup (no key, no player).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivr.audit import cli_actor
from ivr.commands import HELP
from ivr.config import Settings
from ivr.recording.api import RecordingError, RecordingInfo
from ivr.recording.keys import MODES, Keyring
from ivr.recording.store import RecordingStore
from ivr.textsafe import printable

SETUP_CODES = {"rec-no-key", "rec-no-player", "rec-bad-mode", "rec-key-active"}
PLAYERS = [["aplay", "-q"], ["paplay"], ["play", "-q"], ["ffplay", "-nodisp", "-autoexit",
                                                          "-loglevel", "quiet"], ["afplay"]]


def make_store(settings: Settings, engine: Any) -> RecordingStore:
    r = settings.recording
    return RecordingStore(engine, Keyring(settings.keys_dir), settings.recordings_dir,
                          chunk_bytes=r.chunk_bytes, threads=r.crypto_threads)


def ensure_key(settings: Settings, say: Callable[[str], None]) -> None:
    """Create the data dir's first key when it has none, and say so."""
    key, created = Keyring(settings.keys_dir).ensure(settings.recording.mode)
    if created:
        say(f"created recording key {key.id} ({key.mode}) in {settings.keys_dir}"
            + (": move its .key file to the replay host; this server needs only "
               f"{key.id}.pub" if key.mode == "x25519" else ""))


@contextlib.asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[RecordingStore]:
    from ivr.store.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        yield make_store(settings, engine)
    finally:
        await engine.dispose()


def _run(out: Any, work: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(work)
    except RecordingError as err:
        out.say(f"error [{err.code}]: {err.message}")
        if out.as_json:
            print(json.dumps({"error": {"code": err.code, "message": err.message}}))
        return 2 if err.code in SETUP_CODES else 1


def _json(info: RecordingInfo) -> dict[str, Any]:
    return {"id": info.id, "call_id": info.call_id, "caller": info.caller,
            "created": info.created.isoformat(), "duration": info.duration,
            "format": info.format, "sample_rate": info.sample_rate, "key_id": info.key_id,
            "complete": info.complete, "size": info.size, "sha256": info.sha256}


# Keys ---------------------------------------------------------------------------------------
def cmd_keys_create(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    key = Keyring(settings.keys_dir).create(args.mode or settings.recording.mode)
    out.result(key.describe(), f"created {key.id} ({key.mode}) in {settings.keys_dir}")
    if key.mode == "x25519":
        out.say(f"asymmetric: keep {key.id}.key on the replay host only; the call server "
                f"needs just {key.id}.pub")
    return 0


def cmd_keys_list(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    async def work() -> int:
        async with _store(settings) as store:
            usage = await store.key_usage()
        keys = store.keyring.all()
        current = next((k.id for k in reversed(keys) if k.can_wrap), None)
        rows = [k.describe() | {"recordings": usage.get(k.id, 0), "current": k.id == current}
                for k in keys]
        human = "\n".join(f"{'*' if r['current'] else ' '} {r['id']:<20} {r['mode']:<10} "
                          f"{r['status']:<10} {r['recordings']:>6} recordings"
                          f"{'' if r['private_here'] else '  (public half only)'}"
                          for r in rows)
        out.result(rows, human or f"no keys in {settings.keys_dir} (ivr keys create)")
        return 0

    return _run(out, work())


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    async def work() -> int:
        async with _store(settings) as store:
            ring = store.keyring
            target = ring.current() if args.resume else ring.create(
                args.mode or settings.recording.mode)
            for key in ring.all():
                if key.id != target.id and key.status == "active":
                    ring.retire(key.id)
                    out.say(f"retired {key.id}: it no longer wraps new recordings")
            out.say(f"re-wrapping recordings under {target.id} (audio is not touched)")
            done, failed = await store.rewrap_all(
                target, lambda rid, code: out.say(f"  {rid}: {code or 'ok'}") if code else None)
        out.result({"key": target.id, "rewrapped": done,
                    "failed": [{"id": i, "code": c} for i, c in failed]},
                   f"{done} recording(s) now under {target.id}; {len(failed)} failed")
        return 1 if failed else 0

    return _run(out, work())


def cmd_keys_retire(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    async def work() -> int:
        async with _store(settings) as store:
            ring = store.keyring
            key = ring.retire(args.id) if (k := ring.get(args.id)) and k.status == "active" \
                else k
            if key is None:
                raise RecordingError("rec-no-key", f"no key {args.id}")
            if args.destroy:
                used = (await store.key_usage()).get(args.id, 0)
                if used and not args.force:
                    raise RecordingError("rec-key-active", f"{used} recording(s) still use "
                                         f"{args.id}: run ivr keys rotate first (or --force)")
                ring.destroy(args.id)
        out.result({"id": args.id, "status": "destroyed" if args.destroy else "retired"},
                   f"{args.id} {'destroyed' if args.destroy else 'retired'}")
        return 0

    return _run(out, work())


# Recordings -----------------------------------------------------------------------------------
def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise RecordingError("rec-bad-date", f"--since wants YYYY-MM-DD[THH:MM]: {text}") from err
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cmd_recordings_list(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    async def work() -> int:
        async with _store(settings) as store:
            found = await store.list(caller=args.caller, since=_since(args.since),
                                     call_id=args.call_id, limit=args.limit)
        human = "\n".join(f"{r.id}  {r.created:%Y-%m-%d %H:%M:%S}  {r.duration:8.1f}s  "
                          f"{printable(r.caller or '-'):<16} call {printable(r.call_id)}"
                          f"{'' if r.complete else '  INCOMPLETE'}" for r in found)
        out.result([_json(r) for r in found], human or "no recordings")
        return 0

    return _run(out, work())


def cmd_recordings_import(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", args.call_id):
        out.say("error: --call-id takes 1-32 letters, digits, _ . -")
        return 2
    ensure_key(settings, out.say)

    async def work() -> int:
        async with _store(settings) as store:
            placeholder = await store.ensure_call(args.call_id)
            info = await store.import_wav(Path(args.file), args.call_id, actor=cli_actor())
        if placeholder:
            out.say(f"call {args.call_id} was unknown: created a placeholder call marked import")
        out.result(_json(info), f"imported {args.file} as recording {info.id} "
                   f"({info.duration:.1f} s, key {info.key_id})")
        return 0

    return _run(out, work())


async def _decrypt_to(store: RecordingStore, rid: str, target: Path, *, reason: str,
                      allow_incomplete: bool) -> int:
    """Write the WAV to a temp file next to ``target`` and rename it into place only once
    every chunk authenticated; on any failure no output file is left."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as f:
            async for block in store.open_wav(rid, actor=cli_actor(), channel="cli",
                                              reason=reason, allow_incomplete=allow_incomplete):
                f.write(block)
                written += len(block)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


def cmd_recordings_export(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    async def work() -> int:
        target = Path(args.output)
        async with _store(settings) as store:
            try:
                size = await _decrypt_to(store, args.id, target, reason=args.reason,
                                         allow_incomplete=args.allow_incomplete)
            except OSError as err:
                raise RecordingError("rec-io", f"cannot write {target}: {err}") from err
        out.result({"id": args.id, "output": str(target), "bytes": size},
                   f"wrote {target} ({size} bytes); the export is audited")
        return 0

    return _run(out, work())


def cmd_recordings_play(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    """Piped: stream the WAV to stdout. On a terminal: decrypt to a private temp file,
    play it with the first player found, delete it."""

    async def to_stdout(store: RecordingStore) -> int:
        async for block in store.open_wav(args.id, actor=cli_actor(), channel="cli",
                                          reason=args.reason, allow_incomplete=args.allow_incomplete):
            sys.stdout.buffer.write(block)
        sys.stdout.buffer.flush()
        return 0

    async def work() -> int:
        async with _store(settings) as store:
            if not sys.stdout.isatty():
                return await to_stdout(store)
            player = next((p for p in PLAYERS if shutil.which(p[0])), None)
            if player is None:
                raise RecordingError("rec-no-player", "no audio player found (aplay, paplay, "
                                     "play, ffplay, afplay); pipe instead: ivr recordings play "
                                     "ID > call.wav")
            with tempfile.TemporaryDirectory(prefix="ivr-play-") as folder:
                wav = Path(folder) / f"{args.id}.wav"
                await _decrypt_to(store, args.id, wav, reason=args.reason,
                                  allow_incomplete=args.allow_incomplete)
                out.say(f"playing with {player[0]} (Ctrl-C stops)")
                await asyncio.to_thread(subprocess.run, [*player, str(wav)], check=False)
        return 0

    return _run(out, work())


def cmd_recordings_seal(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    from ivr.recording.spool import SpoolSealer

    async def work() -> int:
        async with _store(settings) as store:
            recovered = await store.recover()
            sealed = await SpoolSealer(settings.spool_dir, store, settings.recording).scan_once(
                force=args.now)
        out.result({"sealed": sealed, "recovered": recovered},
                   f"sealed {len(sealed)} recording(s) from {settings.spool_dir}; "
                   f"{len(recovered)} cut-short recording(s) marked")
        return 0

    return _run(out, work())


# Retention ----------------------------------------------------------------------------------
def cmd_retention_purge(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    from ivr.recording.retention import Retention

    async def work() -> int:
        async with _store(settings) as store:
            report = await Retention(store.engine, store, settings.recording.retention).purge(
                apply=args.apply, actor=cli_actor())
        verb = "purged" if report.applied else "would purge (dry run; --apply to do it)"
        out.result(report.as_json(), f"{verb}: {len(report.recordings)} recording(s), "
                   f"{report.events} call event(s), {report.transcripts} transcript row(s); "
                   f"{report.held_calls} call(s) on legal hold kept"
                   + "".join(f"\nnote: {n}" for n in report.notes))
        return 0

    return _run(out, work())


def cmd_retention_hold(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    from ivr.recording.retention import Retention

    async def work() -> int:
        async with _store(settings) as store:
            ret = Retention(store.engine, store, settings.recording.retention)
            if args.release:
                done = await ret.release(args.call_id, actor=cli_actor(), reason=args.reason)
                out.result({"call_id": args.call_id, "held": False},
                           f"legal hold on {args.call_id} released" if done
                           else f"{args.call_id} was not on hold")
            else:
                await ret.hold(args.call_id, actor=cli_actor(), reason=args.reason)
                out.result({"call_id": args.call_id, "held": True},
                           f"call {args.call_id} is on legal hold")
        return 0

    return _run(out, work())


def cmd_retention_holds(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    from ivr.recording.retention import Retention

    async def work() -> int:
        async with _store(settings) as store:
            rows = await Retention(store.engine, store, settings.recording.retention).holds()
        out.result(rows, "\n".join(f"{printable(r['call_id'])}  {r['at']}  {printable(r['actor'])}"
                                   f"  {printable(r['reason'] or '')}" for r in rows)
                   or "no legal holds")
        return 0

    return _run(out, work())


def register(sub: Any, add_command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``keys``, ``recordings`` and ``retention`` to the ``ivr`` command."""
    add = add_command
    keys = sub.add_parser("keys", help=HELP["keys"])
    ks = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    kc = add(ks, "create", cmd_keys_create, "create a key; the newest active key wraps new "
             "recordings", needs_db=False)
    kc.add_argument("--mode", choices=sorted(MODES), help="symmetric (default) or asymmetric")
    add(ks, "list", cmd_keys_list, "keys with their status and how many recordings use them")
    kr = add(ks, "rotate", cmd_keys_rotate, "new key, retire the old ones, re-wrap every "
             "recording's data key (audio untouched)")
    kr.add_argument("--mode", choices=sorted(MODES))
    kr.add_argument("--resume", action="store_true",
                    help="no new key: finish an interrupted rotation onto the current key")
    kt = add(ks, "retire", cmd_keys_retire, "stop a key wrapping new recordings")
    kt.add_argument("id", metavar="ID")
    kt.add_argument("--destroy", action="store_true", help="also delete its key material")
    kt.add_argument("--force", action="store_true", help="destroy even if recordings use it")

    rec = sub.add_parser("recordings", help=HELP["recordings"])
    rs = rec.add_subparsers(dest="action", metavar="ACTION", required=True)
    rl = add(rs, "list", cmd_recordings_list, "recordings, newest first")
    rl.add_argument("--caller", help="caller number (or its last digits)")
    rl.add_argument("--since", help="created on or after (YYYY-MM-DD[THH:MM])")
    rl.add_argument("--call-id")
    rl.add_argument("--limit", type=int, default=100)
    for name, handler, text in (("play", cmd_recordings_play, "decrypt and play (piped: WAV "
                                 "to stdout)"),
                                ("export", cmd_recordings_export, "decrypt to a WAV file")):
        p = add(rs, name, handler, text + "; audited")
        p.add_argument("id", metavar="ID", help="recording id as `recordings list` prints it")
        if name == "export":
            p.add_argument("-o", "--output", required=True, metavar="OUT.wav")
        p.add_argument("--reason", required=name == "export", default="playback",
                       help="why (kept in the audit)")
        p.add_argument("--allow-incomplete", action="store_true",
                       help="a recording cut short: give its authenticated part")
    ri = add(rs, "import", cmd_recordings_import, "seal an existing PCM WAV file")
    ri.add_argument("file", metavar="FILE.wav")
    ri.add_argument("--call-id", required=True)
    rseal = add(rs, "seal", cmd_recordings_seal, "seal finished spool segments now and mark "
                "recordings cut short by a crash")
    rseal.add_argument("--now", action="store_true", help="ignore the settle delays")

    ret = sub.add_parser("retention", help=HELP["retention"])
    ts = ret.add_subparsers(dest="action", metavar="ACTION", required=True)
    tp = add(ts, "purge", cmd_retention_purge, "apply the retention policy (dry run by default)")
    tp.add_argument("--apply", action="store_true", help="really delete")
    th = add(ts, "hold", cmd_retention_hold, "put a call on legal hold (or --release it)")
    th.add_argument("call_id", metavar="CALL_ID")
    th.add_argument("--reason")
    th.add_argument("--release", action="store_true")
    add(ts, "holds", cmd_retention_holds, "calls on legal hold")
