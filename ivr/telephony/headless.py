"""A headless WebRTC caller (aiortc): what ``ivr call`` and the tests use to phone Hotline.

It posts an offer to ``{base}/api/webrtc/offer``, speaks and presses keys in the order given,
and reports the prompts Hotline played, what it understood and the outcome (from the data
channel events of :mod:`ivr.telephony.webrtc.events`). Each step waits until Hotline takes
that kind of input (keys armed, or speech heard; ``patient``: also until its prompts are
over), acts, then waits for Hotline to say what it understood.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ivr.audio.frames import Samples
from ivr.telephony.webrtc.ice import restrict_ice
from ivr.telephony.webrtc.media import PromptTrack
from ivr.telephony.webrtc.tasks import CallTasks

SPEAK_RATE = 16000
HEAR_RATE = 8000
AUDIBLE_RMS = 300.0
"""Incoming frames louder than this count as Hotline speaking."""


@dataclass(frozen=True)
class Step:
    """One thing the caller does: press ``keys`` or say ``samples`` (16 kHz mono)."""

    kind: Literal["press", "say"]
    keys: str = ""
    samples: Samples | None = None
    label: str = ""


@dataclass
class CallReport:
    """What the caller experienced."""

    call_id: str | None = None
    prompts: list[str] = field(default_factory=list)
    heard: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "failed"
    queue: str | None = None
    dtls: bool = False
    error: dict[str, str] | None = None
    connect_ms: float | None = None
    """Offer posted → media connected."""
    first_audio_ms: float | None = None
    """Offer posted → first audible frame from Hotline."""
    reply_ms: list[float] = field(default_factory=list)
    """End of each utterance the caller said → first audible frame of Hotline's reply."""
    seconds: float = 0.0
    steps_done: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "events"}
        if self.queue is None:
            out.pop("queue")
        return out


class HeadlessCaller:
    """One call to a Hotline web server."""

    def __init__(self, base_url: str, steps: list[Step], *, language: str | None = None,
                 max_seconds: float = 120.0, wav_out: Path | None = None, patient: bool = False,
                 addresses: tuple[str, ...] = ("127.0.0.1",), step_timeout: float = 30.0) -> None:
        restrict_ice(addresses)
        self.base_url = base_url.rstrip("/")
        self.steps = steps
        self.language = language
        self.max_seconds = max_seconds
        self.wav_out = wav_out
        self.patient = patient
        self.step_timeout = step_timeout
        self.report = CallReport()
        self._tick = asyncio.Event()
        self._messages: list[dict[str, Any]] = []
        self._bye = False
        self._closed = False
        self.voice = PromptTrack(self._poke, rate=SPEAK_RATE)
        self._heard_audio: list[Samples] = []
        self._started = 0.0
        self._last_speech_end: float | None = None

    def _poke(self) -> None:
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def _until(self, ready: Any, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closed:
                return bool(ready())
            tick = self._tick
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await tick.wait()
        return True

    async def run(self) -> CallReport:
        """Place the call and return the report when it ends (never raises for the call)."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._started = time.monotonic()
        try:
            async with CallTasks("headless-call") as tasks:
                channel = pc.createDataChannel("hotline")
                channel.on("message", self._on_message)
                channel.on("close", self._on_close)
                pc.addTrack(self.voice)

                @pc.on("track")
                def on_track(track: MediaStreamTrack) -> None:
                    if track.kind == "audio":
                        tasks.start(self._listen(track), "listen")

                @pc.on("connectionstatechange")
                def on_state() -> None:
                    if pc.connectionState == "connected" and self.report.connect_ms is None:
                        self.report.connect_ms = self._ms()
                        self.report.dtls = _dtls_connected(pc)
                    if pc.connectionState in ("failed", "closed"):
                        self._closed = True
                    self._poke()

                if not await self._signal(pc):
                    return self.report
                tasks.start(self._run_steps(channel), "steps")
                ended = await self._until(lambda: self._bye or self._closed, self.max_seconds)
                if not ended and channel.readyState == "open":
                    channel.send(json.dumps({"type": "hangup"}))
                    await asyncio.sleep(0.1)
                    if self.report.outcome == "failed" and not self.report.error:
                        self.report.outcome = "abandoned"
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await pc.close()
            self.report.seconds = round(time.monotonic() - self._started, 3)
            self._write_wav()
        return self.report

    def _ms(self) -> float:
        return round((time.monotonic() - self._started) * 1000, 1)

    async def _signal(self, pc: RTCPeerConnection) -> bool:
        await pc.setLocalDescription(await pc.createOffer())
        body = {"type": "offer", "sdp": pc.localDescription.sdp, "language": self.language}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http, \
                    http.post(f"{self.base_url}/api/webrtc/offer", json=body) as resp:
                answer = await resp.json(content_type=None)
                if resp.status != 200:
                    error = answer.get("error") if isinstance(answer, dict) else None
                    self.report.error = error if isinstance(error, dict) else {
                        "code": f"http-{resp.status}", "message": str(answer)[:200]}
                    return False
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            self.report.error = {"code": "webrtc-signalling-failed", "message": str(err) or
                                 type(err).__name__}
            return False
        self.report.call_id = answer.get("call_id")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        return True

    def _on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        message["at_ms"] = self._ms()
        self.report.events.append(message)
        self._messages.append(message)
        kind = message.get("type")
        if kind == "prompt":
            self.report.prompts.append(str(message.get("text")))
        elif kind == "heard":
            self.report.heard.append({k: v for k, v in message.items()
                                      if k not in ("type", "at_ms")})
        elif kind == "outcome":
            self.report.outcome = str(message.get("outcome"))
            self.report.queue = message.get("queue")
        elif kind == "bye":
            self._bye = True
        self._poke()

    def _on_close(self) -> None:
        self._closed = True
        self._poke()

    async def _listen(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=HEAR_RATE)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1).astype(np.int16)
                if self.wav_out is not None:
                    self._heard_audio.append(samples)
                loud = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > AUDIBLE_RMS
                if loud and self.report.first_audio_ms is None:
                    self.report.first_audio_ms = self._ms()
                if loud and self._last_speech_end is not None:
                    self.report.reply_ms.append(
                        round((time.monotonic() - self._last_speech_end) * 1000, 1))
                    self._last_speech_end = None

    async def _run_steps(self, channel: Any) -> None:
        seen = 0  # messages before this index were used by earlier steps
        for step in self.steps:
            if not await self._do_step(step, seen, channel):
                return
            self.report.steps_done += 1
            seen = len(self._messages)

    async def _do_step(self, step: Step, seen: int, channel: Any) -> bool:
        """Wait until Hotline takes this input, give it, wait until Hotline understood."""
        if not await self._until(lambda: self._takes(step, seen) is not None, self.step_timeout):
            return False
        heard_before = len(self.report.heard)
        if step.kind == "press":
            channel.send(json.dumps({"type": "dtmf", "digits": step.keys}))
        else:
            assert step.samples is not None
            playback = self.voice.play(step.samples)
            await self._until(lambda: playback.done, len(step.samples) / SPEAK_RATE + 5)
            self._last_speech_end = playback.ended_at or time.monotonic()
        await self._until(lambda: len(self.report.heard) > heard_before or self._bye,
                          self.step_timeout)
        return True

    def _takes(self, step: Step, seen: int) -> int | None:
        """Index after the first ``listening`` event (from ``seen`` on) this step fits."""
        for i in range(seen, len(self._messages)):
            m = self._messages[i]
            if m.get("type") != "listening" or (self.patient and not m.get("waiting")):
                continue
            if step.kind == "press" and step.keys[:1] in str(m.get("keys", "")):
                return i + 1
            if step.kind == "say" and m.get("speech"):
                return i + 1
        return None

    def _write_wav(self) -> None:
        if self.wav_out is None:
            return
        pcm = np.concatenate(self._heard_audio) if self._heard_audio else np.zeros(0, np.int16)
        with wave.open(str(self.wav_out), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(HEAR_RATE)
            out.writeframes(pcm.astype("<i2").tobytes())


def _dtls_connected(pc: RTCPeerConnection) -> bool:
    """True when media runs over a connected DTLS transport (DTLS-SRTP)."""
    transports = [t.sender.transport for t in pc.getTransceivers() if t.sender.transport]
    return bool(transports) and all(t.state == "connected" for t in transports)
