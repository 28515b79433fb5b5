"""Recording parts for one ``ivr serve``: store, keyring, spool sealer and the per-call
recording factory the call runner uses. ``ivr.app`` creates one :class:`RecordingService`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.events import CallLog, EventKind
from ivr.recording import key_registry
from ivr.recording.api import CallRecording, RecordingError
from ivr.recording.capture import (
    FrameRecording,
    MixMonitorRecording,
    make_private_dir,
)
from ivr.recording.guard import CountedAlerts, GuardedRecording
from ivr.recording.keys import Keyring
from ivr.recording.settings import RecordingPaths, RecordingSettings
from ivr.recording.spool import SpoolSealer, failure_text
from ivr.recording.store import RecordingStore
from ivr.store.writer import CallRecorder, EventWriter
from ivr.telephony.call import Call, FrameRecordedCall, MixMonitorCall

_LOG = logging.getLogger(__name__)
ALERT_SEQ = 1_000_000
"""Sealer alerts arrive after the call ended: they sort after its own events."""
CALL_ROW_SECONDS = 5.0
"""How long a streamed recording waits for its call's row before the call goes on unrecorded
(the writer commits every ``store.flush_seconds`` while the database is healthy)."""


class NotRecorded:
    """For calls whose transport cannot be recorded yet."""

    async def start(self) -> None:
        return None

    async def finish(self) -> None:
        return None

    @contextlib.asynccontextmanager
    async def paused(self, node: str) -> AsyncIterator[None]:
        yield


class RecordingService:
    """Everything recording-related a running server needs: its ``recording`` section and
    folders, this server's ``instance_id`` and how long a drain may take."""

    def __init__(self, settings: RecordingSettings, paths: RecordingPaths, engine: AsyncEngine,
                 writer: EventWriter, count_alert: Callable[[str], None] | None = None, *,
                 instance_id: str, drain_seconds: float) -> None:
        self.settings = settings
        self.paths = paths
        self._engine = engine
        self._instance_id = instance_id
        self._drain_seconds = drain_seconds
        self.keyring = Keyring(paths.keys_dir)
        self.store = RecordingStore(engine, self.keyring, paths.recordings_dir,
                                    chunk_bytes=settings.chunk_bytes,
                                    threads=settings.crypto_threads,
                                    instance_id=instance_id)
        self._writer = writer
        self._count = count_alert
        self.sealer = SpoolSealer(paths.spool_dir, self.store, settings, alert=self._sealer_alert,
                                  row_pending=self._row_pending,
                                  space_alert=lambda code, _msg: self._count and self._count(code))
        self._alert_seq = itertools.count(ALERT_SEQ)
        self._ready_until = 0.0

    async def capture_ready(self) -> None:
        """Raise ``rec-no-key`` unless a key can wrap and the spool exists. A success holds for
        two seconds: keys change rarely, and two thread hops per call would queue behind each
        other at hundreds of calls per second. Failures are never cached (fail closed)."""
        now = time.monotonic()
        if now < self._ready_until:
            return

        def check() -> None:
            self.keyring.current()
            make_private_dir(self.paths.spool_dir)

        await asyncio.to_thread(check)
        self._ready_until = now + 2.0

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def share_keys(self, instance_id: str) -> list[str]:
        """Create the first key (unless other servers sharing the database already have
        keys: then this one must get theirs), list this server's keys in the database and
        say what an operator must fix (:mod:`ivr.recording.key_registry`). Notes to announce;
        a database that cannot be read only skips the comparison."""
        if not self.enabled:
            return []
        try:
            others = await key_registry.registered(self._engine)
        except (SQLAlchemyError, OSError) as err:
            _LOG.warning("rec-key-registry: cannot read the key list (%s)", type(err).__name__)
            others = None
        local = await asyncio.to_thread(self.keyring.all)
        if others and not local:
            message = (f"no key in {self.paths.keys_dir} while servers sharing this database "
                       f"use {', '.join(sorted(others))}: copy or mount their key folder "
                       "here (docs/scale-out.md); until then calls are not recorded")
            _LOG.error("rec-key-not-shared: %s", message)
            if self._count:
                self._count("rec-key-not-shared")
            return [f"warning [rec-key-not-shared]: {message}"]
        notes = [n for n in [await asyncio.to_thread(self.ensure_key)] if n]
        if others is None:
            return notes
        try:
            keys = await asyncio.to_thread(self.keyring.all)
            problems = await key_registry.register(self._engine, keys, self._instance_id)
        except (SQLAlchemyError, OSError, RecordingError) as err:
            _LOG.warning("rec-key-registry: cannot list keys (%s)", type(err).__name__)
            return notes
        for problem in problems:
            _LOG.error("%s: %s", problem.code, problem.message)
            if self._count:
                self._count(problem.code)
            notes.append(f"warning [{problem.code}]: {problem.message}")
        return notes

    def ensure_key(self) -> str | None:
        """Create the data dir's first key if it has none; the note to announce, if any."""
        if not self.enabled:
            return None
        try:
            key, created = self.keyring.ensure(self.settings.mode)
        except RecordingError as err:  # fail closed, but keep answering calls
            _LOG.error("%s: %s", err.code, err.message)
            return f"warning [{err.code}]: calls will not be recorded: {err.message}"
        if not created:
            return None
        note = f"created recording key {key.id} ({key.mode}) in {self.paths.keys_dir}"
        if key.mode == "x25519":
            note += f": move {key.id}.key to the replay host; this server needs only the .pub"
        return note

    def for_call(self, call: Call, log: CallLog) -> CallRecording:
        """The runner's ``recordings`` factory, by ``call.caps.recording``: ``mixmonitor``
        (FastAGI: Asterisk records into the spool), ``frames`` (the call's audio goes to a
        :class:`FrameRecording`) or ``none``. Whatever the kind, recording trouble is an
        alert (counted) and never fails the call (:class:`GuardedRecording`)."""
        counted = CountedAlerts(log, self._count)
        call_id = call.info.call_id
        recording: CallRecording
        mode = call.caps.recording
        if mode == "mixmonitor":
            self.sealer.track(call_id)  # its segments stay put until it has ended
            recording = MixMonitorRecording(
                cast(MixMonitorCall, call), call_id, counted, keyring=self.keyring,
                spool=self.paths.spool_dir, asterisk_spool=self.paths.asterisk_spool_dir,
                recording_id=uuid.uuid4().hex, ready=self.capture_ready,
                details=_call_details(call), on_finished=lambda: self.sealer.release(call_id))
        elif mode == "frames":
            streamed = FrameRecording(self.store, call_id, counted,
                                      ready=functools.partial(self.call_written, call_id))
            cast(FrameRecordedCall, call).record_to(streamed)
            recording = streamed
        else:
            return NotRecorded()
        return GuardedRecording(recording, counted)

    async def call_written(self, call_id: str) -> None:
        """Wait until the call's row is written (the recording's row refers to it); raise
        ``rec-call-unwritten`` when the database does not take it in time."""
        if not await self._writer.ensure_written(call_id, CALL_ROW_SECONDS):
            raise RecordingError("rec-call-unwritten", "the call's row is not in the database "
                                 "yet (database down or slow)")

    async def run(self) -> None:
        """Mark recordings cut short by a crash, then seal the spool until cancelled."""
        try:
            recovered = await self.store.recover()
        except Exception:  # never take the server down over recovery
            _LOG.exception("rec-recover-failed: could not scan for recordings cut short")
            recovered = []
        if recovered:
            _LOG.warning("rec-recovered: %d recording(s) cut short were marked", len(recovered))
        await self.sealer.run()

    async def final_seal(self) -> None:
        """On shutdown, once calls have drained and before the writer stops: seal every
        spool segment of no live call, so no plaintext outlives the server. Never raises;
        what is left is said (and sealed at the next start)."""
        try:
            async with asyncio.timeout(max(10.0, self._drain_seconds)):
                await self.sealer.final_seal()
        except Exception as err:
            _LOG.error("rec-final-seal-failed: %s", failure_text(err))
        left = await asyncio.to_thread(self.sealer.leftovers)
        if left:
            _LOG.error("rec-spool-left: %d plaintext file(s) left in %s; they are sealed at "
                       "the next start", len(left), self.paths.spool_dir)

    async def _row_pending(self, call_id: str) -> bool:
        return not await self._writer.ensure_written(call_id, 1.0)

    def _sealer_alert(self, call_id: str, code: str, message: str, has_row: bool) -> None:
        if has_row:  # an event needs its call's row (foreign key)
            CallRecorder(self._writer, call_id, seq=next(self._alert_seq)).event(
                EventKind.ALERT, code=code, message=message[:300])
        if self._count:
            self._count(code)


def _call_details(call: Call) -> dict[str, Any]:
    """What the manifest keeps to rebuild the call's row should it never be written."""
    info = call.info
    return {"caller": info.caller, "caller_name": info.caller_name, "dialed": info.dialed,
            "route": info.route, "language": info.language, "channel": info.channel,
            "uniqueid": info.extra.get("uniqueid")}

