"""The recording store: sealed files under DIR/recordings/ plus metadata rows.

Implements :class:`ivr.recording.api.RecordingLibrary` for the CLI and the web player.
Crypto and file work run in worker threads, at most ``crypto_threads`` at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.audit import AuditEntry, AuditLog
from ivr.recording.api import RecordingError, RecordingInfo
from ivr.recording.crypto import AudioFormat, open_chunks, plain_length, wav_header
from ivr.recording.files import (
    PART,
    OpenRecording,
    Reader,
    Sealed,
    is_locked,
    open_reader,
    recover_part,
    rewrap,
)
from ivr.recording.keys import KeyEntry, Keyring
from ivr.store.models import CallRow, RecordingRow

_LOG = logging.getLogger(__name__)
T = TypeVar("T")
Markers = list[dict[str, Any]]
Failures = list[tuple[str, str]]


def open_binary(path: Path) -> BinaryIO:
    return path.open("rb")
CHUNKS_PER_JOB = 8


class Offload:
    """Runs blocking work in threads, a bounded number at once."""

    def __init__(self, limit: int) -> None:
        self._sem = asyncio.Semaphore(limit)

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._sem:
            return await asyncio.to_thread(fn, *args)


@dataclass
class ActiveRecording:
    """A recording being written through the store."""

    id: str
    call_id: str
    file: OpenRecording
    markers: list[dict[str, Any]]


class RecordingStore:
    """Files, rows and audited decryption."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring, folder: Path, *,
                 chunk_bytes: int = 65536, threads: int = 2,
                 instance_id: str | None = None) -> None:
        self.engine = engine
        self.instance_id = instance_id
        """Stored with the call rows this store creates (None: not a server's call)."""
        self.keyring = keyring
        self.folder = folder
        self.chunk_bytes = chunk_bytes
        self.audit = AuditLog(engine)
        self.offload = Offload(threads)

    # Writing ------------------------------------------------------------------------------
    async def begin(self, call_id: str, audio: AudioFormat, *, source: str,
                    recording_id: str | None = None) -> ActiveRecording:
        """Create the row and the sealed file; ``rec-no-key`` when no key can wrap."""
        rid = recording_id or uuid.uuid4().hex
        created = datetime.now(UTC)
        opened = await self.offload(OpenRecording, self.folder, rid, call_id,
                                    created.isoformat(), audio, self.chunk_bytes, self.keyring)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(RecordingRow).values(
                    id=rid, call_id=call_id, created_at=created, duration=0.0,
                    format=audio.container, sample_rate=audio.sample_rate,
                    channels=audio.channels, sample_width=audio.sample_width,
                    key_id=opened.key_id, sha256="", size=0, complete=False, status="writing",
                    source=source, path=opened.path.name, markers=[]))
        except BaseException:
            await self.offload(opened.abandon)
            opened.part.unlink(missing_ok=True)
            raise
        return ActiveRecording(rid, call_id, opened, [])

    async def write(self, active: ActiveRecording, pcm: bytes) -> None:
        await self.offload(active.file.write, pcm)

    async def finish(self, active: ActiveRecording) -> RecordingInfo:
        """Seal the final chunk and mark the row complete. On a write error (disk full) the
        chunks already sealed are kept and the row is marked incomplete, then it re-raises."""
        try:
            sealed = await self.offload(active.file.close)
        except RecordingError:
            await self.offload(active.file.abandon)
            await self.recover()
            raise
        await self._mark(active.id, sealed, markers=active.markers)
        info = await self.get(active.id)
        assert info is not None
        return info

    async def _mark(self, rid: str, sealed: Sealed, *, markers: list[dict[str, Any]] | None = None
                    ) -> None:
        values: dict[str, Any] = {
            "sha256": sealed.sha256, "size": sealed.size, "duration": round(sealed.duration, 3),
            "complete": sealed.complete, "status": "complete" if sealed.complete else "incomplete"}
        if sealed.key_id:
            values["key_id"] = sealed.key_id
        if markers is not None:
            values["markers"] = markers
        async with self.engine.begin() as conn:
            await conn.execute(update(RecordingRow).where(RecordingRow.id == rid).values(**values))

    async def mark_incomplete(self, rid: str, *, status: str = "incomplete") -> None:
        """Not complete: ``incomplete`` (cut short, parts left out) or ``missing`` (no audio
        ever arrived)."""
        async with self.engine.begin() as conn:
            await conn.execute(update(RecordingRow).where(RecordingRow.id == rid)
                               .values(complete=False, status=status))

    async def recover(self) -> list[str]:
        """Mark recordings cut short (``.part`` files no writer holds) incomplete; returns
        their ids. Every complete chunk stays readable."""
        parts = await self.offload(lambda: sorted(self.folder.glob(f"*.rec{PART}"))
                                   if self.folder.is_dir() else [])
        found = []
        for part in parts:
            try:
                done = await self.offload(recover_part, part)
            except RecordingError as err:
                _LOG.error("%s: cannot recover %s: %s", err.code, part.name, err.message)
                continue
            if done is None:
                continue
            rid, sealed = done
            await self._mark(rid, sealed)
            found.append(rid)
            _LOG.warning("rec-recovered: recording %s was cut short; marked %s", rid,
                         "complete" if sealed.complete else "incomplete")
        return found

    async def call_exists(self, call_id: str) -> bool:
        async with self.engine.connect() as conn:
            return bool((await conn.execute(select(CallRow.id)
                                            .where(CallRow.id == call_id))).first())

    async def ensure_call(self, call_id: str, *, transport: str = "import",
                          **values: Any) -> bool:
        """Make sure a call row exists; a call never seen gets a placeholder marked
        ``import``, or made of ``values`` (other columns: a call rebuilt from its
        recording). True when a placeholder was created."""
        async with self.engine.begin() as conn:
            found = (await conn.execute(select(CallRow.id).where(CallRow.id == call_id))).first()
            if found:
                return False
            try:
                await conn.execute(insert(CallRow).values(
                    id=call_id, transport=transport, route="import",
                    started_at=datetime.now(UTC), outcome=None, instance_id=self.instance_id
                ).values(**values))
            except IntegrityError:
                return False
        return True

    async def import_wav(self, path: Path, call_id: str, *, actor: str) -> RecordingInfo:
        """Seal an existing PCM WAV file as it is (samples unchanged)."""
        from ivr.recording.wavpcm import iter_pcm, probe_wav

        try:
            f = await self.offload(open_binary, path)
        except OSError as err:
            raise RecordingError("rec-io", f"cannot read {path}: {err}") from err
        try:
            info = await self.offload(probe_wav, f, path.name)
            await self.ensure_call(call_id)
            active = await self.begin(call_id, info.audio, source="import")
            blocks: Iterator[bytes] = iter_pcm(f, info, self.chunk_bytes * CHUNKS_PER_JOB)
            while block := await self.offload(next, blocks, b""):
                await self.write(active, block)
            result = await self.finish(active)
        finally:
            await self.offload(f.close)
        await self.audit.append(AuditEntry(actor=actor, action="recording.import",
                                           outcome="success", subject=result.id, channel="cli",
                                           details={"call_id": call_id, "file": path.name}))
        return result

    # Reading ------------------------------------------------------------------------------
    async def list(self, *, caller: str | None = None, since: datetime | None = None,
                   call_id: str | None = None, limit: int = 100) -> list[RecordingInfo]:
        query = (select(*RecordingRow.__table__.c, CallRow.caller)
                 .join(CallRow, CallRow.id == RecordingRow.call_id)
                 .order_by(RecordingRow.created_at.desc()).limit(limit))
        if caller:
            escaped = caller.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(CallRow.caller.like(f"%{escaped}", escape="\\"))
        if since:
            query = query.where(RecordingRow.created_at >= since)
        if call_id:
            query = query.where(RecordingRow.call_id == call_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_info(r._mapping) for r in rows]

    async def get(self, recording_id: str) -> RecordingInfo | None:
        query = (select(*RecordingRow.__table__.c, CallRow.caller)
                 .join(CallRow, CallRow.id == RecordingRow.call_id)
                 .where(RecordingRow.id == recording_id))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _info(row._mapping) if row else None

    async def markers(self, recording_id: str) -> Markers:
        async with self.engine.connect() as conn:
            value = (await conn.execute(select(RecordingRow.markers)
                                        .where(RecordingRow.id == recording_id))).scalar()
        return list(value or [])

    async def _audit(self, recording_id: str, actor: str, channel: str, reason: str,
                     outcome: str, **details: Any) -> None:
        await self.audit.append(AuditEntry(actor=actor, action="recording.decrypt",
                                           outcome=outcome, subject=recording_id,
                                           channel=channel, reason=reason[:512],
                                           details=details))

    async def _open(self, recording_id: str, allow_incomplete: bool) -> Reader:
        info = await self.get(recording_id)
        if info is None:
            raise RecordingError("rec-not-found", f"no recording {recording_id}")
        if not info.complete and not allow_incomplete:
            raise RecordingError("rec-incomplete", f"recording {recording_id} was cut short; "
                                 "use --allow-incomplete for its authenticated part")
        try:
            reader = await self.offload(open_reader, self.folder / f"{recording_id}.rec",
                                        self.keyring)
        except RecordingError as err:
            if err.code == "rec-not-found" and (other := await self._stored_elsewhere(info)):
                raise RecordingError("rec-not-here", (
                    f"recording {recording_id} was stored by instance {other}, and its file "
                    f"is not in {self.folder}: give every instance the same recordings "
                    "folder (docs/scale-out.md), or replay it there")) from err
            raise
        if not reader.complete and not allow_incomplete:
            await self.offload(reader.f.close)
            raise RecordingError("rec-incomplete", f"recording {recording_id} has no final "
                                 "chunk (truncated); use --allow-incomplete for its "
                                 "authenticated part")
        return reader

    async def _stored_elsewhere(self, info: RecordingInfo) -> str | None:
        """The instance that took the recording's call, when it is not this one."""
        async with self.engine.connect() as conn:
            other = await conn.scalar(select(CallRow.instance_id).where(
                CallRow.id == info.call_id))
        return str(other) if other and other != self.instance_id else None

    async def open_wav(self, recording_id: str, *, actor: str, channel: str, reason: str,
                       allow_incomplete: bool = False) -> AsyncIterator[bytes]:
        """See :meth:`ivr.recording.api.RecordingLibrary.open_wav`: one audit row before the
        first byte (``started``) and one with the result (``success``, ``failed``,
        ``aborted``); a failure before the first byte writes one ``failed`` row."""
        try:
            reader = await self._open(recording_id, allow_incomplete)
        except RecordingError as err:
            await self._audit(recording_id, actor, channel, reason, "failed", code=err.code)
            raise
        sent = 0
        try:
            await self._audit(recording_id, actor, channel, reason, "started",
                              allow_incomplete=allow_incomplete)
            yield wav_header(reader.header.audio, plain_length(reader.frames))
            chunks = open_chunks(reader.f, reader.sealed, reader.data_key, reader.frames,
                                 allow_incomplete=allow_incomplete)
            while batch := await self.offload(_take, chunks, CHUNKS_PER_JOB):
                for plain in batch:
                    sent += len(plain)
                    yield plain
        except RecordingError as err:
            await self._audit(recording_id, actor, channel, reason, "failed", code=err.code,
                              bytes=sent)
            raise
        except (GeneratorExit, asyncio.CancelledError):
            await asyncio.shield(self._audit(recording_id, actor, channel, reason, "aborted",
                                             bytes=sent))
            raise
        else:
            await self._audit(recording_id, actor, channel, reason, "success", bytes=sent,
                              complete=reader.complete)
        finally:
            reader.f.close()

    # Keys and retention -------------------------------------------------------------------
    async def rewrap_all(self, target: KeyEntry,
                         progress: Callable[[str, str | None], None] | None = None
                         ) -> tuple[int, Failures]:
        """Re-wrap every finished recording not yet under ``target``; (done, failures)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(RecordingRow.id, RecordingRow.path)
                .where(RecordingRow.key_id != target.id, RecordingRow.status != "writing")
            )).all()
        done, failed = 0, Failures()
        for rid, name in rows:
            try:
                digest, size = await self.offload(rewrap, self.folder / name, self.keyring, target)
            except (RecordingError, OSError) as err:
                code = getattr(err, "code", "rec-io")
                failed.append((rid, code))
                if progress:
                    progress(rid, code)
                continue
            async with self.engine.begin() as conn:
                await conn.execute(update(RecordingRow).where(RecordingRow.id == rid).values(
                    key_id=target.id, sha256=digest, size=size))
            done += 1
            if progress:
                progress(rid, None)
        return done, failed

    async def key_usage(self) -> dict[str, int]:
        from sqlalchemy import func

        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(RecordingRow.key_id, func.count())
                                       .group_by(RecordingRow.key_id))).all()
        return {k: int(n) for k, n in rows}

    async def delete(self, recording_id: str) -> None:
        """Remove the file, then the row (a crash in between leaves a row retention retries)."""
        path = self.folder / f"{recording_id}.rec"
        await self.offload(lambda: path.unlink(missing_ok=True))
        async with self.engine.begin() as conn:
            await conn.execute(delete(RecordingRow).where(RecordingRow.id == recording_id))

    def writer_alive(self, recording_id: str) -> bool:
        return is_locked(self.folder / f"{recording_id}.rec{PART}")


def _take(chunks: Iterator[bytes], n: int) -> list[bytes]:
    out: list[bytes] = []
    for plain in chunks:
        out.append(plain)
        if len(out) >= n:
            break
    return out


def _info(m: Any) -> RecordingInfo:
    created = m["created_at"]
    if created.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        created = created.replace(tzinfo=UTC)
    return RecordingInfo(
        id=m["id"], call_id=m["call_id"], caller=m["caller"], created=created,
        duration=m["duration"], format=m["format"], sample_rate=m["sample_rate"],
        key_id=m["key_id"], complete=bool(m["complete"]), size=m["size"], sha256=m["sha256"])
