"""An ARI caller as a :class:`~ivr.telephony.call.Call`: the streaming call of the WebRTC
transport (the same prompt clock, barge-in, key arming and recording mixer), with Asterisk
on the other side.

Audio: the caller's µ-law RTP arrives as 8 kHz chunks (``on_rtp``); prompts leave from the
:class:`~ivr.telephony.webrtc.media.PromptTrack`, one RTP packet per 20 ms sent by the
controller's media clock thread (:mod:`ivr.telephony.ari.clock`). Keys come from
``ChannelDtmfReceived``. A transfer sets the dialplan contract's channel variables
(``IVR_QUEUE``, ``IVR_PRIORITY``, ``IVR_OUTCOME``); the controller then lets the channel
continue at ``hotline,route,1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from ivr.audio.frames import AudioChunk, Samples
from ivr.errors import CallHangup
from ivr.telephony.ari.client import AriClient, AriError
from ivr.telephony.call import CallInfo, QueueTarget, clamp_priority
from ivr.telephony.webrtc.call import PromptLoader, WebRtcCall
from ivr.telephony.webrtc.media import PromptTrack

RATE = 8000
KEYS = frozenset("0123456789*#ABCD")


def _no_events(_text: str) -> None:
    """A phone caller has no data channel: Hotline's events are not sent anywhere."""


class AriCall(WebRtcCall):
    """One caller in the Stasis application."""

    def __init__(self, info: CallInfo, loader: PromptLoader, client: AriClient,
                 channel_id: str) -> None:
        super().__init__(info, loader, send=_no_events)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        # The media clock's thread takes the frames: a prompt's end reaches the loop safely.
        self.track = PromptTrack(self._poke_any_thread)
        self.client = client
        self.channel_id = channel_id
        self._heard_seconds = 0.0

    def _poke_any_thread(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self._poke()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(self._poke)

    @property
    def keys_armed(self) -> str | None:
        """Keys that count now (None: any key is kept for the next question)."""
        return self._armed

    def on_dtmf(self, digit: object) -> None:
        """``ChannelDtmfReceived``: keys are kept only while armed, as Asterisk does."""
        if not isinstance(digit, str) or digit.upper() not in KEYS or self.gone is not None:
            return
        key = digit.upper()
        if self._armed is None or key in self._armed:
            self._keys.append(key)
            self._poke()

    def on_rtp(self, samples: Samples) -> None:
        """Decoded caller audio (8 kHz) from the media endpoint."""
        if self.gone is not None:
            return
        chunk = AudioChunk(samples, RATE, at=self._heard_seconds)
        self._heard_seconds += len(samples) / RATE
        self.on_audio(chunk, samples)

    async def answer(self) -> None:
        """The controller answered the channel before the media leg was set up."""
        if self.gone is not None:
            raise CallHangup(self.gone)
        self.answered = True

    async def _set(self, name: str, value: str) -> None:
        if self.gone is not None:
            raise CallHangup(self.gone)
        try:
            await self.client.set_variable(self.channel_id, name, value)
        except AriError as err:
            if err.status == 404:
                self.caller_gone("channel gone")
                raise CallHangup("channel gone") from err
            raise

    async def transfer(self, target: QueueTarget) -> None:
        """Set the queue and priority for ``hotline,route`` (the dialplan runs Queue())."""
        await self._set("IVR_QUEUE", target.name)
        await self._set("IVR_PRIORITY", str(clamp_priority(target.priority)))
        self.transferred = target

    async def set_outcome(self, outcome: str, queue: str | None) -> None:
        if outcome == "queued" and queue and self.transferred is None:
            # Queued without a transfer: the caller took a callback; the dialplan hangs up.
            await self._set("IVR_CALLBACK", "yes")
        await self._set("IVR_OUTCOME", outcome)
        self.outcome = (outcome, queue)
