"""The Listener: one question's prompts and answer, by keys or by voice, on any transport.

* Streaming transports (``caps.streaming_audio``): the caller's audio goes through the VAD
  and the endpointer while prompts play; speech longer than ``min_speech`` stops the prompt
  (barge-in) unless the question turns it off; keys stay armed throughout.
* Turn-based transports (``caps.record``, FastAGI): prompts play with keys armed, then
  ``record()`` with silence detection (whole seconds), then recognition of the clip. A
  recording without speech is repeated until ``no_input`` has passed.

Speech errors never leave the caller in silence: they come back as ``Heard(error=...)`` and
the flow goes on with the keypad.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass

import numpy as np

from ivr.audio.frames import AudioChunk, AudioClip, Samples
from ivr.speech.asr import Recognizer, RecognizerStream, SpeechError, Transcript, now
from ivr.speech.endpoint import Endpointer, Turn
from ivr.speech.listening import Heard, ListenOptions
from ivr.speech.vad import Vad, speech_seconds
from ivr.telephony.call import Call, Prompt

_LOG = logging.getLogger(__name__)
PREROLL_SECONDS = 0.3
"""Audio kept from before the speech run was confirmed, so first syllables are not lost."""


class SpeechListener:
    """A :class:`~ivr.speech.listening.Listener` over one recogniser per language."""

    def __init__(self, recognizers: dict[str, Recognizer], *, vad_aggressiveness: int = 2
                 ) -> None:
        self._recognizers = recognizers
        self._aggressiveness = vad_aggressiveness

    def available(self, language: str) -> bool:
        return language in self._recognizers

    async def ask(self, call: Call, prompts: Sequence[Prompt], language: str,
                  options: ListenOptions) -> Heard:
        recognizer = self._recognizers.get(language)
        try:
            if recognizer is not None and call.caps.streaming_audio:
                return await _StreamingTurn(call, recognizer, options,
                                            self._aggressiveness).run(prompts)
            if recognizer is not None and call.caps.record:
                return await self._recorded(call, recognizer, prompts, options)
        except SpeechError as err:
            _LOG.warning("%s: %s; offering the keypad", err.code, err.message)
            return Heard("none", error=err.code)
        return await keys_only(call, prompts, options)

    async def _recorded(self, call: Call, recognizer: Recognizer, prompts: Sequence[Prompt],
                        options: ListenOptions) -> Heard:
        for prompt in prompts:
            played = await call.play(prompt, barge_in_keys=options.keys)
            if played.interrupted_by:
                return await more_keys(call, played.interrupted_by, options)
        ep = options.endpoint
        silence = max(1, int(-(-ep.end_silence // 1)))
        waited = 0.0
        while True:
            rec = await call.record(max_seconds=ep.no_input + ep.max_utterance,
                                    silence_seconds=silence, escape_keys=options.keys)
            if rec.key:
                return await more_keys(call, rec.key, options)
            if rec.clip is None:
                return Heard("none")
            spoken = speech_seconds(rec.clip.samples, rec.clip.rate)
            if spoken >= ep.min_speech:
                break
            waited += max(rec.clip.seconds, float(silence))
            if waited >= ep.no_input:
                return Heard("none")
        ended = now()  # Asterisk stopped `silence` seconds after the speech ended
        clip = AudioClip(rec.clip.samples[: int(ep.max_utterance * rec.clip.rate)], rec.clip.rate)
        transcript = await recognizer.recognize(clip, phrases=options.phrases)
        latency = (transcript.finished_at - ended + silence) * 1000
        return Heard("speech", transcript=transcript, end_to_final_ms=round(latency, 1),
                     audio=clip)


async def keys_only(call: Call, prompts: Sequence[Prompt], options: ListenOptions) -> Heard:
    """The keypad path: earlier prompts interruptible, the last one collects the keys."""
    if not prompts:
        got = await call.collect_dtmf(None, max_digits=options.max_digits,
                                      timeout=options.key_timeout)
        return Heard("dtmf" if got.digits else "none", got.digits, timed_out=got.timed_out)
    for prompt in prompts[:-1]:
        played = await call.play(prompt, barge_in_keys=options.keys)
        if played.interrupted_by:
            return await more_keys(call, played.interrupted_by, options)
    got = await call.collect_dtmf(prompts[-1], max_digits=options.max_digits,
                                  timeout=options.key_timeout)
    return Heard("dtmf" if got.digits else "none", got.digits, timed_out=got.timed_out)


async def more_keys(call: Call, first: str, options: ListenOptions) -> Heard:
    """The caller pressed ``first``; collect the rest of a multi-digit answer."""
    if options.max_digits <= 1 or first == "#":
        return Heard("dtmf", "" if first == "#" else first)
    rest = await call.collect_dtmf(None, max_digits=options.max_digits - 1,
                                   timeout=options.key_timeout)
    return Heard("dtmf", first + rest.digits, timed_out=rest.timed_out)


@dataclass
class _Shared:
    prompts_done: bool = False
    speech_started: bool = False


class _StreamingTurn:
    """One question on a streaming call: a keys side and an audio side, first answer wins."""

    def __init__(self, call: Call, recognizer: Recognizer, options: ListenOptions,
                 aggressiveness: int) -> None:
        self.call, self.recognizer, self.options = call, recognizer, options
        self.aggressiveness = aggressiveness
        self.shared = _Shared()
        self.playing = asyncio.Event()
        self.barged_in = False

    async def run(self, prompts: Sequence[Prompt]) -> Heard:
        chunks = self.call.audio_in()  # listening starts before the first prompt plays
        audio = asyncio.create_task(self._audio_side(chunks), name="listen-audio")
        keys = asyncio.create_task(self._keys_side(prompts), name="listen-keys")
        try:
            done, _ = await asyncio.wait({keys, audio}, return_when=asyncio.FIRST_COMPLETED)
            first = keys if keys in done else audio
            heard = first.result()
            if first is keys and heard.mode == "none" and not audio.done():
                heard = await audio  # keys timed out; the caller may still be mid-sentence
            return heard
        finally:
            for task in (keys, audio):
                task.cancel()
            await asyncio.gather(keys, audio, return_exceptions=True)

    async def _keys_side(self, prompts: Sequence[Prompt]) -> Heard:
        opts = self.options
        for prompt in prompts:
            if self.shared.speech_started:
                break
            self.playing.set()
            try:
                played = await self.call.play(prompt, barge_in_keys=opts.keys)
            finally:
                self.playing.clear()
            if played.interrupted_by:
                return await more_keys(self.call, played.interrupted_by, opts)
        self.shared.prompts_done = True
        wait = opts.endpoint.no_input + opts.endpoint.max_utterance + 1.0
        got = await self.call.collect_dtmf(None, max_digits=opts.max_digits, timeout=wait)
        if got.digits:
            return Heard("dtmf", got.digits, timed_out=got.timed_out)
        return Heard("none")

    async def _audio_side(self, source: AsyncIterator[AudioChunk]) -> Heard:
        opts = self.options
        ep = Endpointer(opts.endpoint)
        said_max = int((opts.endpoint.max_utterance + PREROLL_SECONDS) / 0.02) + 20
        vad: Vad | None = None
        stream: RecognizerStream | None = None
        preroll: list[Samples] = []
        held: list[Samples] = []
        said: list[Samples] = []  # this turn's speech, for distress scoring (voice)
        rate = 8000
        speech_end_wall = 0.0
        try:
            async with contextlib.aclosing(_closable(source)) as chunks:
                async for chunk in chunks:
                    if vad is None:
                        vad = Vad(chunk.rate, aggressiveness=self.aggressiveness)
                        rate = chunk.rate
                    if self.shared.prompts_done:
                        ep.arm()
                    elif not opts.barge_in and not ep.speaking:
                        continue  # a prompt that must be heard to the end: not listening yet
                    for frame in vad.frames(chunk.samples):
                        if frame.is_speech:
                            speech_end_wall = now()
                        if stream is None:
                            preroll.append(frame.samples)
                            del preroll[: max(0, len(preroll) - int(PREROLL_SECONDS / 0.02) - 10)]
                        elif held or ep.paused:
                            held.append(frame.samples)
                        else:
                            stream.push(frame.samples)
                        if stream is not None and len(said) < said_max:
                            said.append(frame.samples)
                        for event in ep.feed(frame.is_speech, frame.seconds):
                            if event.kind is Turn.SPEECH_START:
                                stream = self.recognizer.stream(rate=chunk.rate, phrases=opts.phrases)
                                stream.push(np.concatenate(preroll))
                                said = list(preroll)
                                preroll = []
                                await self._barge_in()
                            elif event.kind is Turn.PAUSE and stream is not None:
                                stream.flush()
                            elif event.kind is Turn.RESUME and stream is not None:
                                for samples in held:
                                    stream.push(samples)
                                held = []
                            elif event.kind is Turn.NO_INPUT:
                                return Heard("none")
                            elif stream is not None:  # END or MAX_UTTERANCE
                                if event.kind is Turn.MAX_UTTERANCE:
                                    for samples in held:
                                        stream.push(samples)
                                return await self._final(stream, speech_end_wall,
                                                         _clip(said, rate))
                        if ep.complete_pause and stream is not None and opts.complete is not None:
                            early = stream.early()
                            if early is not None and opts.complete(early):
                                return self._heard(early, speech_end_wall, _clip(said, rate))
            return Heard("none")
        finally:
            if stream is not None:
                await stream.aclose()

    async def _barge_in(self) -> None:
        self.shared.speech_started = True
        if self.playing.is_set() and self.options.barge_in:
            self.barged_in = True
            with contextlib.suppress(Exception):
                await self.call.stop_playback()

    async def _final(self, stream: RecognizerStream, speech_end_wall: float,
                     audio: AudioClip | None = None) -> Heard:
        stream.end_input()
        final: Transcript | None = None
        async for result in stream.results():
            if result.is_final:
                final = result
        if final is None:
            return Heard("none")
        return self._heard(final, speech_end_wall, audio)

    def _heard(self, final: Transcript, speech_end_wall: float,
               audio: AudioClip | None = None) -> Heard:
        latency = (final.finished_at - speech_end_wall) * 1000
        return Heard("speech", transcript=final, end_to_final_ms=round(latency, 1),
                     barged_in=self.barged_in, audio=audio)


def _clip(frames: list[Samples], rate: int) -> AudioClip | None:
    """A streaming turn's speech frames as one clip (None when there are none)."""
    return AudioClip(np.concatenate(frames), rate) if frames else None


async def _closable(chunks: AsyncIterator[AudioChunk]) -> AsyncGenerator[AudioChunk, None]:
    """An async generator over a transport's chunks, so leaving the loop closes the source."""
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
