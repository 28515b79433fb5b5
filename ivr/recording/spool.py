"""The spool sealer: encrypts finished MixMonitor segments into the store, then removes
the plaintext.

A call's segments are sealed once its manifest exists (the call ended) and every segment
has stopped changing for ``settle_seconds`` (StopMixMonitor closes the file; after a
hang-up Asterisk closes it when the channel goes away). Segments are joined with silence
for each paused gap, recorded as a marker. Segments of no live call and no manifest (the
server died mid-call) are sealed after ``orphan_seconds``, marked incomplete.

The server tells the sealer which calls are live (:meth:`SpoolSealer.track`): their
segments are never touched. At start-up and on drain everything else is sealed at once
(``force``), so no plaintext outlives the server. A call whose row never reached the
database (the server died while it was down) gets its row from the manifest. Whatever
cannot be sealed (no key, a segment missing or unreadable, a seal that fails) raises an
alert: nothing is skipped silently.

The plaintext exposure window is therefore: call duration + settle time + sealing time
(about a second per hour of audio), on the spool's file system: put it on tmpfs.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ivr.errors import IvrError
from ivr.recording.api import RecordingError
from ivr.recording.capture import Manifest
from ivr.recording.crypto import AudioFormat
from ivr.recording.settings import RecordingSettings
from ivr.recording.spool_files import (
    SpoolListing,
    is_segment_of,
    list_spool,
    make_private,
    set_aside,
)
from ivr.recording.spool_rows import lost_call_row
from ivr.recording.store import ActiveRecording, RecordingStore, open_binary
from ivr.recording.wavpcm import PcmWav, iter_pcm, probe_wav
from ivr.store.clean import clean_text

_LOG = logging.getLogger(__name__)
Alert = Callable[[str, str, str, bool], None]
"""(call id, code, message, the call has a row: an event may refer to it)."""
SpaceAlert = Callable[[str, str], None]
"""(code, message) about the spool as a whole, not one call."""
RowPending = Callable[[str], Awaitable[bool]]
"""True while this server still holds the call's row (queued, not yet written)."""


@dataclass
class _Segment:
    path: Path
    info: PcmWav | None
    problem: str | None = None
    """``rec-segment-missing`` or ``rec-segment-unreadable`` when ``info`` is None."""


@dataclass
class _Job:
    """One call's leftovers in the spool."""

    call_id: str
    manifest_path: Path | None = None
    manifest: Manifest | None = None
    bad_manifest: str | None = None
    orphans: list[Path] | None = None


class SpoolSealer:
    """Watches the spool folder; one instance per ``ivr serve``."""

    def __init__(self, spool: Path, store: RecordingStore, settings: RecordingSettings, *,
                 alert: Alert | None = None, clock: Callable[[], float] = time.time,
                 row_pending: RowPending | None = None,
                 space_alert: SpaceAlert | None = None) -> None:
        self.spool = spool
        self._space_alert = space_alert
        self.low_space = False
        """The spool's file system had less than ``spool_min_free_mb`` free at the last look."""
        self.store = store
        self.settings = settings
        self._alert = alert
        self._clock = clock
        self._row_pending = row_pending
        self._live: set[str] = set()
        self._ended: set[str] = set()
        """Calls of this server that ended (their segments need not wait as orphans)."""
        self._lock = asyncio.Lock()
        self._alerted: set[tuple[str, str]] = set()
        self.swept = asyncio.Event()
        """Set once the start-up sweep (everything left from before) is done."""

    def track(self, call_id: str) -> None:
        """A call of this server may be recording: never seal its segments until
        :meth:`release`."""
        self._live.add(call_id)

    def release(self, call_id: str) -> None:
        """The call ended (its manifest, if any, is written). Segments it left without a
        manifest (the manifest could not be written: a full disk) are sealed as soon as they
        settle, not after ``orphan_seconds``: no plaintext waits longer than it must."""
        self._live.discard(call_id)
        self._ended.add(call_id)
        if len(self._ended) > 10_000:
            self._ended.pop()

    async def run(self) -> None:
        """Seal everything left from before at once, then scan until cancelled."""
        sweep, failing = True, False
        while True:
            await self.check_space()
            try:
                await self.scan_once(force=sweep)
                self.swept.set()
                sweep, failing = False, False
            except Exception as err:  # the sealer must outlive a bad file or a database hiccup
                if not failing:
                    _LOG.error("rec-sealer-failed: spool scan failed (%s); retrying",
                               failure_text(err))
                failing = True
            await asyncio.sleep(self.settings.scan_seconds)

    async def check_space(self) -> None:
        """Alert once when the spool's file system runs low, and say when it recovers."""
        try:
            usage = await asyncio.to_thread(shutil.disk_usage, self.spool)
        except OSError:
            return  # no spool yet: nothing is being recorded into it
        low = usage.free < self.settings.spool_min_free_mb * 1024 * 1024
        if low and not self.low_space:
            message = (f"only {usage.free // 1024} KiB free under the spool {self.spool}: "
                       "Asterisk loses recording audio; calls go on")
            _LOG.error("rec-spool-full: %s", message)
            if self._space_alert is not None:
                self._space_alert("rec-spool-full", message)
        elif self.low_space and not low:
            _LOG.warning("rec-spool-space-back: %d MiB free under the spool",
                         usage.free // (1024 * 1024))
        self.low_space = low

    async def final_seal(self) -> list[str]:
        """On drain, once calls ended: seal every segment of no live call now, after giving
        files still being closed a moment (at most ``settle_seconds``)."""
        await self._wait_quiet()
        return await self.scan_once(force=True)

    def leftovers(self) -> list[str]:
        """Names of plaintext files still in the spool (blocking: call off the loop)."""
        return self._listing().names()

    async def scan_once(self, *, force: bool = False) -> list[str]:
        """Seal whatever is ready; returns the recording ids written. ``force`` seals every
        call that is not live without waiting (start-up, drain, ``ivr recordings seal
        --now``). A database error ends the scan (raised); any other failure is one call's:
        it is alerted once and the scan goes on."""
        async with self._lock:
            # Live before the listing too: a call that ends while the spool is listed has
            # its manifest written after the listing, so its segments are no orphans.
            live = set(self._live)
            listing = await self.store.offload(self._listing)
            manifests, segments = listing.manifests, listing.segments
            for stray in listing.strays:  # never a call: no row is made, no event
                await self._set_aside(None, stray, "rec-spool-stray", "named like no call")
            done = []
            for call_id in sorted(manifests.keys() | segments.keys()):
                if call_id in live or call_id in self._live:
                    continue
                try:
                    rid = await self._seal_call(call_id, manifests.get(call_id),
                                                segments.get(call_id, []), force)
                except (SQLAlchemyError, ConnectionError):
                    raise
                except Exception as err:
                    self._alert_once(call_id, "rec-seal-failed",
                                     f"recording not sealed, retrying: {failure_text(err)}",
                                     has_row=await self._has_row(call_id))
                    continue
                if rid:
                    done.append(rid)
            return done

    def _listing(self) -> SpoolListing:
        """Manifests and segments by call; files others could read are made 0600."""
        listing = list_spool(self.spool)
        for name in listing.names():
            make_private(self.spool / name)
        return listing

    def _settled(self, paths: list[Path], delay: float | None = None) -> bool:
        wait = self.settings.settle_seconds if delay is None else delay
        now = self._clock()
        for path in paths:
            try:
                if now - path.stat().st_mtime < wait:
                    return False
            except FileNotFoundError:
                continue
        return True

    async def _wait_quiet(self) -> None:
        deadline = time.monotonic() + self.settings.settle_seconds
        before = await self.store.offload(self._sizes)
        while before and time.monotonic() < deadline:
            await asyncio.sleep(min(0.25, self.settings.settle_seconds))
            now = await self.store.offload(self._sizes)
            if now == before:
                return
            before = now

    def _sizes(self) -> dict[str, tuple[int, int]]:
        out = {}
        for name in self.leftovers():
            try:
                st = (self.spool / name).stat()
            except FileNotFoundError:
                continue
            out[name] = (st.st_size, st.st_mtime_ns)
        return out

    async def _seal_call(self, call_id: str, manifest_path: Path | None, paths: list[Path],
                         force: bool) -> str | None:
        job = _Job(call_id, manifest_path)
        if manifest_path is not None:
            try:
                job.manifest = await self.store.offload(Manifest.read, manifest_path)
            except (OSError, ValueError, TypeError) as err:
                job.bad_manifest = f"manifest {manifest_path.name} unreadable ({err}); " \
                    "its segments are sealed as cut short"
                if not paths:  # no audio: not a call's, or nothing is left of it
                    if force or self._settled([manifest_path], self.settings.orphan_seconds):
                        await self._set_aside(call_id, manifest_path, "rec-manifest-unreadable",
                                              f"unreadable ({failure_text(err)}), no segments")
                    return None
        if job.manifest is not None:
            paths = [self.spool / name for name in job.manifest.segments
                     if is_segment_of(call_id, name)]
            if not (force or self._settled([*paths, manifest_path] if manifest_path else paths)):
                return None
        elif not (force or self._settled(paths, self._orphan_wait(call_id))):
            return None
        elif manifest_path is None and await self.store.offload(
                (self.spool / f"{call_id}.json").exists):
            return None  # the call ended since the listing: the next scan seals it whole
        if not await self._ensure_row(call_id, job.manifest, paths):
            return None
        if job.bad_manifest:
            self._alert_once(call_id, "rec-manifest-unreadable", job.bad_manifest, has_row=True)
        if job.manifest is not None:
            rid = await self._seal(call_id, job.manifest.recording_id, paths, job.manifest.gaps,
                                   complete=True)
        else:
            _LOG.warning("rec-orphan-segments: call %s left %d segment(s) without a manifest "
                         "(server stopped mid-call, or no room for the manifest); sealing them as "
                         "incomplete", call_id,
                         len(paths))
            orphan = uuid.uuid5(uuid.NAMESPACE_URL, f"orphan:{call_id}:{paths[0].name}").hex
            rid = await self._seal(call_id, orphan, paths, [], complete=False)
            self._ended.discard(call_id)
        if manifest_path is not None and not any(p.exists() for p in paths):
            await self.store.offload(manifest_path.unlink, True)
        self._alerted = {k for k in self._alerted if k[0] != call_id}
        return rid

    def _orphan_wait(self, call_id: str) -> float:
        """How long segments without a manifest stay put: ``orphan_seconds``, or only until
        they settle when this server saw their call end."""
        wait = self.settings.orphan_seconds
        return min(wait, self.settings.settle_seconds) if call_id in self._ended else wait

    async def _has_row(self, call_id: str) -> bool:
        try:
            return await self.store.call_exists(call_id)
        except Exception:
            return False

    async def _ensure_row(self, call_id: str, manifest: Manifest | None,
                          paths: list[Path]) -> bool:
        """True once the call has a row. One still queued in this server is waited for;
        one that never reached the database is made from the manifest, with an alert."""
        pending = self._row_pending is not None and await self._row_pending(call_id)
        if await self.store.call_exists(call_id):
            return True
        if pending:
            return False  # the writer holds it (database slow or down): next scan
        ended = await self.store.offload(_last_change, paths)
        values = lost_call_row(manifest, ended)
        if await self.store.ensure_call(call_id, transport="agi", **values):
            self._raise_alert(call_id, "rec-call-row-lost", "the call's row never reached the "
                              "database; made from its recording", has_row=True)
        return True

    async def _seal(self, call_id: str, rid: str, paths: list[Path], gaps: list[dict[str, Any]],
                    *, complete: bool) -> str | None:
        existing = await self.store.get(rid)
        if existing is not None and existing.complete:
            await self._remove(paths)  # sealed before a crash; only the cleanup was left
            return None
        if existing is not None:  # a seal cut short: the plaintext is still here, redo it
            await self.store.delete(rid)
        segments = await self.store.offload(_probe_all, paths)
        audio = next((s.info.audio for s in segments if s.info), None) or AudioFormat()
        try:
            active = await self.store.begin(call_id, audio, source="agi", recording_id=rid)
        except RecordingError as err:
            if err.code not in _NO_KEY:
                raise  # a full disk passes: alerted, kept and retried (see scan_once)
            # Fail closed: no usable key means no recording, and no plaintext left either.
            self._raise_alert(call_id, err.code, f"recording discarded: {err.message}",
                              has_row=True)
            await self._remove(paths)
            return None
        kept = await self._join(call_id, active, segments, gaps, audio)
        if not complete:
            active.markers.append({"at": round(active.file.duration, 3), "kind": "cut-short"})
        info = await self.store.finish(active)
        if not kept:
            await self.store.mark_incomplete(rid, status="missing")
        elif not complete or kept < len(segments):
            await self.store.mark_incomplete(rid)
        await self._remove(paths)
        _LOG.info("sealed recording %s of call %s (%.1f s)", info.id, call_id, info.duration)
        return info.id

    async def _join(self, call_id: str, active: ActiveRecording, segments: list[_Segment],
                    gaps: list[dict[str, Any]], audio: AudioFormat) -> int:
        """Segment 1, silence for the gap, segment 2, …; returns how many segments went in.
        Each one left out is a marker and an alert."""
        kept = 0
        for index, segment in enumerate(segments):
            problem = segment.problem
            if segment.info is not None and segment.info.audio == audio:
                await self._copy(active, segment)
                kept += 1
            elif segment.info is not None:
                problem = "rec-bad-audio"
            if problem:
                active.markers.append({"at": round(active.file.duration, 3), "kind": problem,
                                       "segment": segment.path.name})
                self._raise_alert(call_id, problem, _PROBLEMS[problem].format(
                    segment.path.name), has_row=True)
            for gap in (g for g in gaps if g.get("after") == index):
                active.markers.append({"at": round(active.file.duration, 3), "kind": "paused",
                                       "seconds": gap["seconds"], "node": gap.get("node")})
                silence = int(float(gap["seconds"]) * audio.sample_rate)
                await self._silence(active, silence * audio.channels * audio.sample_width)
        return kept

    async def _copy(self, active: ActiveRecording, segment: _Segment) -> None:
        assert segment.info is not None
        f = await self.store.offload(open_binary, segment.path)
        try:
            blocks = iter_pcm(f, segment.info, 1 << 20)
            while block := await self.store.offload(next, blocks, b""):
                await self.store.write(active, block)
        finally:
            await self.store.offload(f.close)

    async def _silence(self, active: ActiveRecording, size: int) -> None:
        block = 1 << 20
        while size > 0:
            await self.store.write(active, bytes(min(block, size)))
            size -= block

    async def _remove(self, paths: list[Path]) -> None:
        for path in paths:
            await self.store.offload(path.unlink, True)

    async def _set_aside(self, call_id: str | None, path: Path, code: str, why: str) -> None:
        """Alert (logged and counted; an event only if the call has a row) and move the file
        into the spool's quarantine folder; one that cannot be moved is alerted once."""
        name = clean_text(path.name, 100)
        try:
            await self.store.offload(set_aside, path)
        except OSError as err:
            self._alert_once(call_id or name, code, f"{name}: {why}; not moved aside ({err})",
                             has_row=False)
            return
        has_row = call_id is not None and await self._has_row(call_id)
        self._raise_alert(call_id or name, code, f"{name}: {why}; moved to quarantine/",
                          has_row=has_row)

    def _alert_once(self, call_id: str, code: str, message: str, *, has_row: bool) -> None:
        """A failure retried every scan is alerted the first time only."""
        if (call_id, code) not in self._alerted:
            self._alerted.add((call_id, code))
            self._raise_alert(call_id, code, message, has_row=has_row)

    def _raise_alert(self, call_id: str, code: str, message: str, *, has_row: bool) -> None:
        _LOG.error("%s: call %s: %s", code, call_id, message)
        if self._alert:
            self._alert(call_id, code, message, has_row)


_NO_KEY = frozenset({"rec-no-key", "rec-bad-key", "rec-key-retired", "rec-bad-mode"})
_PROBLEMS = {
    "rec-segment-missing": "{} never appeared in the spool (MixMonitor wrote nothing: is "
                           "recording.asterisk_spool_dir the spool as Asterisk sees it?)",
    "rec-segment-unreadable": "{} is not a PCM WAV file; left out and deleted",
    "rec-bad-audio": "{} has another audio format; left out",
}


def failure_text(err: BaseException) -> str:
    """A short account of a failure for logs and alerts: the type and first line (a database
    error's next lines carry its SQL and parameters)."""
    if isinstance(err, IvrError):
        return f"{err.code}: {err.message}"[:200]
    first = (str(err).splitlines() or [""])[0]
    return f"{type(err).__name__}: {first}"[:200]


def _probe_all(paths: list[Path]) -> list[_Segment]:
    out = []
    for path in paths:
        try:
            with path.open("rb") as f:
                out.append(_Segment(path, probe_wav(f, name=path.name)))
        except FileNotFoundError:
            out.append(_Segment(path, None, "rec-segment-missing"))
        except (OSError, RecordingError):
            out.append(_Segment(path, None, "rec-segment-unreadable"))
    return out


def _last_change(paths: list[Path]) -> float | None:
    times = []
    for path in paths:
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return max(times) if times else None

