"""Capture: one call's recording, paused while the caller keys in a secret.

Two shapes, one protocol (:class:`ivr.recording.api.CallRecording`):

- :class:`MixMonitorRecording` (FastAGI): Asterisk records the channel with ``MixMonitor``
  into the spool; a secret collect is bracketed by ``StopMixMonitor`` (which closes the
  file, app_mixmonitor.c) and a new segment. ``finish`` writes a manifest naming the
  segments and the paused gaps; :mod:`ivr.recording.spool` seals them.
- :class:`FrameRecording` (transports that stream audio): frames are sealed chunk by chunk
  as they arrive; a pause writes silence of the paused length instead of the caller's audio.

Neither ever fails the call: a recording problem becomes an ``alert`` event and the call
goes on unrecorded (fail closed: no key, no recording, no plaintext left behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import re
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ivr.errors import CallHangup, IvrError
from ivr.events import EventKind, EventSink
from ivr.recording.api import RecordingError
from ivr.recording.crypto import AudioFormat
from ivr.recording.keys import Keyring
from ivr.recording.store import ActiveRecording, RecordingStore

_LOG = logging.getLogger(__name__)
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9_./-]*$")
NOT_LOADED = -2
_WARNED_NOT_LOADED = False


class AppChannel(Protocol):
    """A channel that runs dialplan applications (FastAGI ``EXEC``)."""

    async def exec_app(self, app: str, args: str = "") -> int | None: ...


def alert(log: EventSink, code: str, message: str) -> None:
    """An operator-visible problem on this call's recording (never key or audio material)."""
    _LOG.error("%s: %s", code, message)
    log.event(EventKind.ALERT, code=code, message=message[:300])


def describe(err: BaseException) -> str:
    """A short account of an error for an alert: an IvrError's message, else the type and
    the first line (a database error's next lines carry its SQL and parameters)."""
    if isinstance(err, IvrError):
        return err.message
    text = str(err)
    first = text.splitlines()[0] if text else ""
    return f"{type(err).__name__}: {first}"[:200]


def make_private_dir(path: Path) -> None:
    """Create the spool 0700: plaintext call audio lives there until it is sealed. An
    existing folder loses any access for others (its group may be Asterisk's: kept)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # mkdir's mode passes through the umask
        return
    if mode & 0o007:
        try:
            path.chmod(mode & ~0o007)
        except OSError as err:  # not ours: the admin's choice, but say so
            _LOG.warning("rec-spool-open: %s is readable by everyone and cannot be "
                         "tightened: %s", path, err)


def write_private(path: Path, text: str) -> None:
    """Write a spool file only its owner can read (0600, whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


@dataclass
class Manifest:
    """What the sealer needs to join one call's spool segments."""

    call_id: str
    recording_id: str
    segments: list[str] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    """``{"after": segment index (0-based), "seconds": paused time, "node": node id}``."""
    finished: str = ""
    call: dict[str, Any] = field(default_factory=dict)
    """The call as the server knew it (caller, dialed, route, language, started): the sealer
    makes the call's row from it if the row never reached the database."""

    def write(self, spool: Path) -> None:
        """Atomically (temp file + rename): the sealer never sees half a manifest."""
        path = spool / f"{self.call_id}.json"
        tmp = spool / f".{self.call_id}.json.tmp"
        write_private(tmp, json.dumps(dataclasses.asdict(self)))
        os.replace(tmp, path)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Raises ``OSError`` or ``ValueError`` for a file that is not a manifest."""
        data = json.loads(path.read_text(encoding="utf-8"))
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or not {"call_id", "recording_id"} <= data.keys():
            raise ValueError(f"{path.name} is not a recording manifest")
        manifest = cls(**{k: v for k, v in data.items() if k in names})
        if not isinstance(manifest.segments, list) or not isinstance(manifest.gaps, list):
            raise ValueError(f"{path.name} is not a recording manifest")
        return manifest


class MixMonitorRecording:
    """A FastAGI call recorded by Asterisk's MixMonitor into the spool."""

    def __init__(self, channel: AppChannel, call_id: str, log: EventSink, *, keyring: Keyring,
                 spool: Path, asterisk_spool: str, recording_id: str,
                 clock: Callable[[], float] = time.monotonic,
                 ready: Callable[[], Awaitable[None]] | None = None,
                 details: dict[str, Any] | None = None,
                 on_finished: Callable[[], None] | None = None) -> None:
        self._channel = channel
        self._ready = ready
        self._on_finished = on_finished
        self._log = log
        self._keyring = keyring
        self._spool = spool
        self._asterisk_spool = asterisk_spool.rstrip("/")
        self._clock = clock
        self.manifest = Manifest(call_id, recording_id, call={
            **(details or {}), "started": datetime.now(UTC).isoformat()})
        self.recording = False

    async def start(self) -> None:
        """Start segment 1; a recording problem is an alert, never the call's failure."""
        try:
            if not _SAFE_PATH.match(self._asterisk_spool + "/"):
                raise RecordingError("rec-bad-spool", "the spool path Asterisk sees must be "
                                     "absolute and use only letters, digits, _ . / -")
            if self._ready is not None:  # the server's cached check (see RecordingService)
                await self._ready()
            else:
                await asyncio.to_thread(self._keyring.current)  # fail closed: no key, no capture
                await asyncio.to_thread(make_private_dir, self._spool)
        except RecordingError as err:
            alert(self._log, err.code, f"call not recorded: {err.message}")
            return
        await self._start_segment()

    async def _start_segment(self) -> None:
        name = f"{self.manifest.call_id}-{len(self.manifest.segments) + 1}.wav"
        try:
            result = await self._channel.exec_app("MixMonitor", f"{self._asterisk_spool}/{name}")
        except CallHangup:
            raise
        except IvrError as err:
            alert(self._log, "rec-capture-failed", f"MixMonitor: {err.message}")
            return
        if result == NOT_LOADED:
            # A deployment problem, not this call's: said once per process, counted per call.
            global _WARNED_NOT_LOADED
            if not _WARNED_NOT_LOADED:
                _LOG.error("rec-capture-unavailable: Asterisk has no MixMonitor application "
                           "(load app_mixmonitor); FastAGI calls are not recorded")
                _WARNED_NOT_LOADED = True
            return
        self.manifest.segments.append(name)
        self.recording = True
        self._log.event(EventKind.RECORDING_STARTED, segment=len(self.manifest.segments))

    async def _stop(self) -> None:
        await self._channel.exec_app("StopMixMonitor")
        self.recording = False

    @contextlib.asynccontextmanager
    async def paused(self, node: str) -> AsyncIterator[None]:
        """Stop recording before a secret is keyed in, start a new segment after."""
        if not self.recording:
            yield
            return
        try:
            await self._stop()
        except CallHangup:
            raise
        except IvrError as err:
            # Never collect a secret we might be recording: end the flow here instead.
            raise RecordingError("rec-pause-failed",
                                 f"could not stop MixMonitor before a secret: {err.message}"
                                 ) from err
        started = self._clock()
        self._log.event(EventKind.RECORDING_PAUSED, node=node)
        try:
            yield
        finally:
            self.manifest.gaps.append({"after": len(self.manifest.segments) - 1, "node": node,
                                       "seconds": round(self._clock() - started, 3)})
        await self._start_segment()
        self._log.event(EventKind.RECORDING_RESUMED, node=node)

    async def finish(self) -> None:
        """Stop MixMonitor (the channel may be gone: Asterisk then closes the file itself)
        and hand the segments to the sealer (``on_finished``: the call is no longer live,
        whatever happened here)."""
        try:
            await self._hand_over()
        finally:
            if self._on_finished is not None:
                self._on_finished()

    async def _hand_over(self) -> None:
        if not self.manifest.segments:
            return
        if self.recording:
            with contextlib.suppress(IvrError):
                await self._stop()
        self.manifest.finished = datetime.now(UTC).isoformat()
        try:
            await asyncio.to_thread(self.manifest.write, self._spool)
        except OSError as err:
            alert(self._log, "rec-spool-failed", f"cannot write the spool manifest: {err}")


class FrameRecording:
    """A recording fed with audio frames by a streaming transport (RTP, WebRTC).

    ``start`` only opens the door to audio: the sealed file and its row are made with the
    first chunk to seal, on the transport's recording task, so the caller hears the greeting
    at once instead of after a key unwrap, a file and two database round trips (the row
    must wait for the call's own row, see ``ready``). Audio meanwhile waits in memory.
    """

    def __init__(self, store: RecordingStore, call_id: str, log: EventSink, *,
                 audio: AudioFormat | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 ready: Callable[[], Awaitable[None]] | None = None) -> None:
        self._store = store
        self._ready = ready
        """Awaited before the recording's row is inserted: raises ``RecordingError`` unless
        the call's own row (which the recording row refers to) is written."""
        self._call_id = call_id
        self._log = log
        self._audio = audio or AudioFormat()
        self._clock = clock
        self._state = "idle"
        """``idle`` (not started), ``open`` (taking audio), ``done`` (finished or failed)."""
        self._active: ActiveRecording | None = None
        self._lock = asyncio.Lock()
        self._buffer = bytearray()
        self._written = 0
        self._markers: list[dict[str, Any]] = []
        self._paused = False
        self._flush_at = store.chunk_bytes

    @property
    def recording_id(self) -> str | None:
        return self._active.id if self._active else None

    async def start(self) -> None:
        """Take audio from now on (never waits for the store; see the class)."""
        if self._state == "idle":
            self._state = "open"

    async def write(self, frame: bytes) -> None:
        """Add one frame of PCM (dropped while paused or when not recording)."""
        if self._state != "open" or self._paused:
            return
        self._buffer += frame
        if len(self._buffer) >= self._flush_at:
            await self._flush()

    async def _begin(self) -> bool:
        """Make the file and its row once; False (after an alert) when that fails."""
        if self._active is not None:
            return True
        try:
            if self._ready is not None:
                await self._ready()
            self._active = await self._store.begin(self._call_id, self._audio, source="stream")
        except Exception as err:  # a key, file or database problem: the call goes on
            code = err.code if isinstance(err, IvrError) else "rec-start-failed"
            alert(self._log, code, f"call not recorded: {describe(err)}")
            self._stop()
            return False
        return True

    def _stop(self) -> None:
        self._state = "done"
        self._buffer = bytearray()

    async def _flush(self) -> None:
        async with self._lock:
            if self._state != "open" or not self._buffer or not await self._begin():
                return
            assert self._active is not None
            data, self._buffer = bytes(self._buffer), bytearray()
            try:
                await self._store.write(self._active, data)
            except Exception as err:  # never let the media path or a pause fail over it
                code = err.code if isinstance(err, IvrError) else "rec-write-failed"
                alert(self._log, code, f"recording stopped: {describe(err)}")
                await self._abandon()
                return
            self._written += len(data)

    async def _abandon(self) -> None:
        active, self._active = self._active, None
        self._stop()
        if active is None:
            return
        try:
            await self._store.offload(active.file.abandon)
            await self._store.recover()
        except Exception as err:
            alert(self._log, "rec-abandon-failed", f"recording left as found: {describe(err)}")

    @contextlib.asynccontextmanager
    async def paused(self, node: str) -> AsyncIterator[None]:
        """Frames arriving meanwhile are dropped; the gap becomes silence plus a marker."""
        await self._flush()
        self._paused = True
        started = self._clock()
        try:
            yield
        finally:
            self._paused = False
            if self._state == "open":
                seconds = self._clock() - started
                at = (self._written + len(self._buffer)) / self._audio.bytes_per_second
                self._markers.append({"at": round(at, 3), "seconds": round(seconds, 3),
                                      "node": node, "kind": "paused"})
                block = self._audio.channels * self._audio.sample_width
                self._buffer += bytes(int(seconds * self._audio.sample_rate) * block)

    async def finish(self) -> None:
        """Seal what is left and mark the recording complete (nothing heard: no recording)."""
        await self._flush()
        async with self._lock:
            active, self._active = self._active, None
            self._stop()
        if active is None:
            return
        active.markers.extend(self._markers)
        try:
            await self._store.finish(active)
        except Exception as err:
            code = err.code if isinstance(err, IvrError) else "rec-finish-failed"
            alert(self._log, code, f"recording kept incomplete: {describe(err)}")
