"""The outbound media clock of the ARI transport: one thread sends every call's RTP.

Asterisk plays what external media sends as it arrives, so each packet must leave on its
20 ms tick. An asyncio task per call (the WebRTC way) leaves when the event loop gets to it:
with speech detection, decoding and the events websocket on the same loop, a few percent of
frames left more than 5 ms late at five talking calls. Here one thread keeps a shared clock
and, on each tick, takes the next frame of every call's
:class:`~ivr.telephony.webrtc.media.PromptTrack` (a lock guards its playback state),
encodes it to µ-law and sends it with ``sendto`` on a duplicate of the call's UDP socket.
Its work per tick is small and never waits for the loop; what the loop must see (the
recording mixer's copy of each frame, the end of a prompt) is handed over with
``call_soon_threadsafe``, one hand-over per tick for all calls.

The clock restarts after a stall of more than 200 ms rather than sending a burst, as the
WebRTC track does; with no call it sleeps until one is added.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ivr.audio.frames import Samples
from ivr.audio.g711 import ulaw_encode
from ivr.telephony.ari.rtp import RtpSender
from ivr.telephony.webrtc.media import FRAME_SECONDS, PromptTrack

_LOG = logging.getLogger(__name__)
STALL_SECONDS = 0.2
RT_PRIORITY = 10
"""SCHED_RR priority of the clock thread (1-99; Asterisk's own threads use 1 with -p)."""
SWITCH_INTERVAL = 0.001
"""Python's GIL hand-over interval while the clock runs (default 5 ms): a busy thread yields
soon enough for the clock's tick to stay within a millisecond or two."""


@dataclass
class _Stream:
    track: PromptTrack
    sock: socket.socket
    peer: tuple[str, int]
    sender: RtpSender
    sent: int = 0
    failed: int = 0


class MediaClock:
    """Sends one µ-law RTP packet per registered call every 20 ms, from its own thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._loop = loop
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._switch: float | None = None
        self.ticks = 0
        self.late_restarts = 0

    def __len__(self) -> int:
        return len(self._streams)

    def add(self, key: str, track: PromptTrack, sock: socket.socket, peer: tuple[str, int],
            sender: RtpSender) -> None:
        """Start sending ``track`` to ``peer`` on ``sock`` (the clock takes the socket over:
        :meth:`remove` closes it)."""
        sock.setblocking(False)
        with self._changed:
            self._streams[key] = _Stream(track, sock, peer, sender)
            if self._thread is None and not self._closing:
                self._switch = sys.getswitchinterval()
                sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL))
                self._thread = threading.Thread(target=self._run, name="ari-media-clock",
                                                daemon=True)
                self._thread.start()
            self._changed.notify()

    def remove(self, key: str) -> None:
        """Stop sending for ``key``; no packet of it leaves after this returns."""
        with self._lock:
            stream = self._streams.pop(key, None)
        if stream is not None:
            stream.sock.close()

    def close(self) -> None:
        """Stop the thread (every stream is removed)."""
        with self._changed:
            self._closing = True
            streams, self._streams = list(self._streams.values()), {}
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=2)
        for stream in streams:
            stream.sock.close()
        if self._switch is not None:
            sys.setswitchinterval(self._switch)
            self._switch = None

    # The thread -----------------------------------------------------------------------
    def _run(self) -> None:
        _realtime()
        start: float | None = None
        frames = 0
        while True:
            with self._changed:
                while not self._streams and not self._closing:
                    self._changed.wait()
                    start = None  # idle: a new first call starts a new clock
                if self._closing:
                    return
            now = self._clock()
            if start is None:
                start, frames = now, 0
            else:
                due = start + frames * FRAME_SECONDS
                if due > now:
                    time.sleep(due - now)
                elif now - due > STALL_SECONDS:
                    self.late_restarts += 1
                    start, frames = now, 0
            frames += 1
            self._tick()

    def _tick(self) -> None:
        self.ticks += 1
        with self._lock:
            streams = list(self._streams.items())
        handover: list[tuple[Callable[[Samples], None], Samples]] = []
        for key, stream in streams:
            try:
                samples = stream.track.next_frame()
                packet = stream.sender.packet(ulaw_encode(samples))
                with self._lock:
                    if key not in self._streams:  # removed meanwhile: its socket is closed
                        continue
                    stream.sock.sendto(packet, stream.peer)
                stream.sent += 1
            except OSError as err:  # a full socket buffer drops this frame, not the call
                stream.failed += 1
                if stream.failed == 1:
                    _LOG.warning("ari-rtp-send-failed: %s (counted from now on)", err)
                continue
            except Exception:
                _LOG.exception("ari-media-clock: one call's frame failed")
                continue
            on_frame = stream.track.on_frame
            if on_frame is not None:
                handover.append((on_frame, samples))
        if handover:
            with contextlib.suppress(RuntimeError):  # the loop is closing: nothing to record
                self._loop.call_soon_threadsafe(_deliver, handover)


def _realtime() -> None:
    """Ask Linux to run this thread before ordinary work (round-robin real-time priority
    :data:`RT_PRIORITY`, as media servers do): a busy machine then delays a tick by
    microseconds, not by a scheduler slice. Without the privilege (CAP_SYS_NICE) the thread
    runs at normal priority, said once in the log."""
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(RT_PRIORITY))
    except (AttributeError, OSError) as err:
        _LOG.info("ari-media-clock: no real-time priority (%s); frames may jitter on a busy "
                  "machine", err)


def _deliver(handover: list[tuple[Callable[[Samples], None], Samples]]) -> None:
    for on_frame, samples in handover:
        try:
            on_frame(samples)
        except Exception:
            _LOG.exception("ari-media-clock: a frame's recording failed")
