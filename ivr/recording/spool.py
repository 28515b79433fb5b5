"""The spool sealer: encrypts finished MixMonitor segments into the store, then removes
the plaintext.

A call's segments are sealed once its manifest exists (the call ended) and every segment
has stopped changing for ``settle_seconds`` (StopMixMonitor closes the file; after a
hang-up Asterisk closes it when the channel goes away). Segments are joined with silence
for each paused gap, recorded as a marker. Segments whose call never wrote a manifest (the
server died mid-call) are sealed after ``orphan_seconds`` and marked incomplete.

The plaintext exposure window is therefore: call duration + settle time + sealing time
(about a second per hour of audio), on the spool's file system: put it on tmpfs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.config import RecordingSettings
from ivr.errors import IvrError
from ivr.recording.api import RecordingError
from ivr.recording.capture import Manifest
from ivr.recording.crypto import AudioFormat
from ivr.recording.store import RecordingStore, open_binary
from ivr.recording.wavpcm import PcmWav, iter_pcm, probe_wav

_LOG = logging.getLogger(__name__)
_SEGMENT = re.compile(r"^(?P<call>[A-Za-z0-9_.-]+)-(?P<n>\d+)\.wav$")
Alert = Callable[[str, str, str], None]
"""(call id, code, message)."""


@dataclass
class _Segment:
    path: Path
    info: PcmWav | None


class SpoolSealer:
    """Watches the spool folder; one instance per ``ivr serve``."""

    def __init__(self, spool: Path, store: RecordingStore, settings: RecordingSettings, *,
                 alert: Alert | None = None, clock: Callable[[], float] = time.time) -> None:
        self.spool = spool
        self.store = store
        self.settings = settings
        self._alert = alert
        self._clock = clock

    async def run(self) -> None:
        """Scan until cancelled."""
        while True:
            try:
                await self.scan_once()
            except IvrError as err:
                _LOG.error("%s: spool scan failed: %s", err.code, err.message)
            except Exception:  # the sealer must outlive a bad file or a database hiccup
                _LOG.exception("rec-sealer-failed: spool scan failed; retrying")
            await asyncio.sleep(self.settings.scan_seconds)

    async def scan_once(self, *, force: bool = False) -> list[str]:
        """Seal whatever is ready; returns the recording ids written. ``force`` ignores the
        settle and orphan delays (tests, ``ivr recordings seal``)."""
        listing = await self.store.offload(self._listing)
        done = []
        manifests, segments = listing
        for call_id, manifest_path in manifests.items():
            paths = [self.spool / name for name in Manifest.read(manifest_path).segments]
            if force or self._settled([manifest_path, *paths]):
                rid = await self._seal_call(call_id, manifest_path)
                if rid:
                    done.append(rid)
        for call_id, paths in segments.items():
            if call_id in manifests:
                continue
            if force or self._settled(paths, self.settings.orphan_seconds):
                rid = await self._seal_orphans(call_id, paths)
                if rid:
                    done.append(rid)
        return done

    def _listing(self) -> tuple[dict[str, Path], dict[str, list[Path]]]:
        if not self.spool.is_dir():
            return {}, {}
        manifests: dict[str, Path] = {}
        segments: dict[str, list[Path]] = {}
        for path in self.spool.iterdir():
            if path.suffix == ".json" and not path.name.startswith("."):
                manifests[path.stem] = path
            elif match := _SEGMENT.match(path.name):
                segments.setdefault(match.group("call"), []).append(path)
        for paths in segments.values():
            paths.sort(key=lambda p: int(_SEGMENT.match(p.name).group("n")))  # type: ignore[union-attr]
        return manifests, segments

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

    async def _seal_call(self, call_id: str, manifest_path: Path) -> str | None:
        manifest = await self.store.offload(Manifest.read, manifest_path)
        paths = [self.spool / name for name in manifest.segments]
        rid = await self._seal(call_id, manifest.recording_id, paths, manifest.gaps,
                               complete=True)
        if rid is not None or not any(p.exists() for p in paths):
            await self.store.offload(manifest_path.unlink, True)
        return rid

    async def _seal_orphans(self, call_id: str, paths: list[Path]) -> str | None:
        _LOG.warning("rec-orphan-segments: call %s left %d segment(s) without a manifest "
                     "(server stopped mid-call); sealing them as incomplete", call_id, len(paths))
        return await self._seal(call_id, uuid.uuid5(uuid.NAMESPACE_URL, f"orphan:{call_id}").hex,
                                paths, [], complete=False)

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
        if complete and not await self.store.call_exists(call_id):
            return None  # the call's row is still queued in the event writer: next scan
        try:
            await self.store.ensure_call(call_id, transport="agi")
            active = await self.store.begin(call_id, audio, source="agi", recording_id=rid)
        except RecordingError as err:
            # Fail closed: no usable key means no recording, and no plaintext left either.
            self._raise_alert(call_id, err.code, f"recording discarded: {err.message}")
            await self._remove(paths)
            return None
        for index, segment in enumerate(segments):
            if segment.info is not None and segment.info.audio == audio:
                await self._copy(active, segment)
            elif segment.info is not None:
                self._raise_alert(call_id, "rec-bad-audio", f"{segment.path.name} has another "
                                  "audio format; left out")
            for gap in (g for g in gaps if g.get("after") == index):
                active.markers.append({"at": round(active.file.duration, 3), "kind": "paused",
                                       "seconds": gap["seconds"], "node": gap.get("node")})
                silence = int(float(gap["seconds"]) * audio.sample_rate)
                block = audio.channels * audio.sample_width
                await self._silence(active, silence * block)
        if not complete:
            active.markers.append({"at": round(active.file.duration, 3), "kind": "cut-short"})
        info = await self.store.finish(active)
        if not complete:
            await self.store.mark_incomplete(rid)
        await self._remove(paths)
        _LOG.info("sealed recording %s of call %s (%.1f s)", info.id, call_id, info.duration)
        return info.id

    async def _copy(self, active: Any, segment: _Segment) -> None:
        assert segment.info is not None
        f = await self.store.offload(open_binary, segment.path)
        try:
            blocks = iter_pcm(f, segment.info, 1 << 20)
            while block := await self.store.offload(next, blocks, b""):
                await self.store.write(active, block)
        finally:
            await self.store.offload(f.close)

    async def _silence(self, active: Any, size: int) -> None:
        block = 1 << 20
        while size > 0:
            await self.store.write(active, bytes(min(block, size)))
            size -= block

    async def _remove(self, paths: list[Path]) -> None:
        for path in paths:
            await self.store.offload(path.unlink, True)

    def _raise_alert(self, call_id: str, code: str, message: str) -> None:
        _LOG.error("%s: call %s: %s", code, call_id, message)
        if self._alert:
            self._alert(call_id, code, message)


def _probe_all(paths: list[Path]) -> list[_Segment]:
    out = []
    for path in paths:
        try:
            with path.open("rb") as f:
                out.append(_Segment(path, probe_wav(f, name=path.name)))
        except (OSError, RecordingError) as err:
            _LOG.warning("rec-segment-unreadable: %s: %s", path.name, err)
            out.append(_Segment(path, None))
    return out
