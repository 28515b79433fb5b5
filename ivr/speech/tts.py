"""Prompts rendered by pyttsx3 over espeak-ng (or a packaged Piper voice) into 8 kHz WAV
files Asterisk can play.

A prompt is cached as ``sounds_dir/<key>.wav``, the key hashing (text, voice, rate), so each
renders once. English is spoken through a pronunciation lexicon (:mod:`ivr.speech.lexicon`):
the voice is given the prompt's *spoken form* (``refunds`` said as ``re-funds``), which the
key also holds when it differs from the text, so a lexicon change renders those prompts
again. Mandarin is spoken by espeak-ng's ``cmn-latn-pinyin`` voice from pinyin
(:mod:`ivr.speech.pinyin`, converted in the worker); its key also holds the version of that
conversion, so a better one re-renders the prompts. pyttsx3 keeps one engine per process
and is not thread-safe, so every render runs in a dedicated worker process (spawned: no
inherited threads or locks), one job at a time; a thread of the server converts the
worker's 22,050 Hz output to 8 kHz. The event loop only waits, and every render has a
timeout.

The dialplans' own prompts (:meth:`PromptRenderer.render_all`; never a per-call text, which
may hold account data) are also kept in a host-wide folder, ``prompts.shared_cache``
(default ``~/.cache/ivr/prompts``): another data folder on the same host, a fresh install or
a second instance, copies them from there instead of rendering them again. The neural
Mandarin voice needs about half a second per second of speech, so a first start takes
minutes; a later one, seconds.

A call never waits behind prompts rendered ahead of need (:meth:`PromptRenderer.render_all`,
at start and after a publish): the worker takes a call's job before any of those, so a
caller's answer waits at most for the one job already running. A *per-call* text
(``ensure(..., private=True)``: an answer holding the caller's own figures, a read-back, a
position in the queue) is written to ``sounds_dir/calls/<this renderer>/``, never enters
index.json or the host-wide cache, and is deleted when the last
call holding it ends (:meth:`PromptRenderer.hold`, :meth:`PromptRenderer.release`; a text
no call holds: :data:`PRIVATE_SECONDS` after it was last asked for; everything when the
renderer closes): account data spoken to one caller does not stay on disk.

The worker process and the pyttsx3 quirks it works around: :mod:`ivr.speech.tts_worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import itertools
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ivr.audio.wav import TELEPHONY_RATE, to_telephony
from ivr.errors import ConfigError, PromptError
from ivr.speech.kokoro import FRONTEND_VERSION as KOKORO_FRONTEND
from ivr.speech.kokoro import is_kokoro_voice
from ivr.speech.lexicon import Lexicon, load_lexicon
from ivr.speech.neural import is_piper_voice
from ivr.speech.pinyin import FRONTEND_VERSION as PINYIN_FRONTEND
from ivr.speech.pinyin import is_pinyin_voice
from ivr.speech.tts_worker import TtsWorker
from ivr.telephony.prompt_files import read_wav, read_wav_format, write_file_atomically, write_wav

_LOG = logging.getLogger(__name__)

ESPEAK_RATES = range(80, 451)
"""Speaking rates espeak-ng accepts, in words per minute (it clamps anything else)."""

PRIVATE_SECONDS = 60.0
"""How long a per-call text's file stays after it was last asked for. A call asks again
for each play (a replay, a repeat), and Asterisk opens the file when it starts playing it,
so a file removed while it plays still plays to the end."""

STALE_PRIVATE_SECONDS = 3600.0
"""Per-call files older than this in ``sounds_dir/calls`` (left by a process that was
killed) are removed when a renderer starts."""


@dataclass(frozen=True, slots=True)
class PromptAudio:
    """A rendered prompt on disk, ready for STREAM FILE or GET DATA."""

    key: str  # cache key (16 hex digits) from (text, voice, rate)
    name: str  # the file's path under sounds_dir without ".wav": the key, or calls/…/key
    path: Path  # absolute path of the 8 kHz 16-bit mono .wav
    asterisk_name: str  # f"{asterisk_dir}/{key}": what Asterisk plays (no extension)
    duration: float  # seconds
    samples: int  # number of 8 kHz samples
    private: bool = False  # a per-call text, in its short-lived file


class PromptRenderer:
    """Renders each prompt once into ``sounds_dir`` and tells Asterisk where it is.

    ``voices`` maps a BCP-47 language ("en-US", "zh-CN") to an espeak-ng voice ("en-us",
    "cmn-latn-pinyin": Mandarin is read from pinyin) or a packaged Piper voice
    ("piper:joe-us") or the packaged Kokoro Mandarin voice ("kokoro:jm_kumo"); ``rate`` is
    in words per minute; ``asterisk_dir`` is ``sounds_dir``
    as Asterisk sees it (another host or container may mount it elsewhere); ``lexicon``
    says how English prompts are spoken (default: the shipped one).
    """

    def __init__(
        self,
        *,
        sounds_dir: Path,
        asterisk_dir: str,
        voices: dict[str, str],
        rate: int,
        render_timeout: float = 60.0,
        lexicon: Lexicon | None = None,
        shared_dir: Path | None = None,
    ) -> None:
        if rate not in ESPEAK_RATES:
            raise ConfigError(
                "config-bad-prompt-rate",
                f"prompts.rate must be 80..450 words per minute for espeak-ng, got {rate}",
            )
        self._dir = sounds_dir.absolute()
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise PromptError("prompt-dir-unwritable", f"cannot create {self._dir}: {err}") from err
        self._asterisk_dir = asterisk_dir.rstrip("/")
        self._voices = {language.lower(): voice for language, voice in voices.items()}
        self._rate = rate
        self._lexicon = load_lexicon() if lexicon is None else lexicon
        self._shared = shared_dir.expanduser().absolute() if shared_dir else None
        self._spoken: dict[tuple[str, str], str] = {}
        self._render_timeout = render_timeout
        self.render_count = 0
        """Renders this renderer has done (cache hits excluded); for metrics and tests."""
        pid = os.getpid()  # scratch files unique per server process
        self._lane = _Lane(self._dir / f".render-{pid}.wav")
        self._private_dir = self._dir / "calls" / f"{pid}-{secrets.token_hex(4)}"
        self._private_used: dict[str, float] = {}  # key → when it was last asked for
        self._private_holds: dict[str, int] = {}  # key → calls holding it
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweeping: set[asyncio.Task[None]] = set()
        self._key_locks = _KeyedLocks()
        self._index_lock = asyncio.Lock()
        self._closed = False
        _remove_stale_private(self._dir / "calls")

    @property
    def worker_pid(self) -> int | None:
        """Process id of the TTS worker, if one is running."""
        return self._lane.pid

    @property
    def languages(self) -> list[str]:
        """The languages this renderer has a voice for (as configured, lower case)."""
        return list(self._voices)

    def voice_for(self, language: str) -> str:
        """The espeak-ng voice for a BCP-47 language (matched case-insensitively)."""
        try:
            return self._voices[language.lower()]
        except KeyError as err:
            known = ", ".join(sorted(self._voices)) or "none"
            raise PromptError(
                "prompt-no-voice", f"no voice for language {language!r} (prompts.voices: {known})"
            ) from err

    def spoken(self, text: str, language: str) -> str:
        """What the voice of ``language`` is given to say ``text`` (English: through the
        lexicon; other languages: the text, Mandarin becomes pinyin in the worker)."""
        voice = self.voice_for(language)
        if not language.lower().startswith("en"):
            return text
        if (spoken := self._spoken.get((text, voice))) is None:
            spoken = self._lexicon.spoken(text, neural=is_piper_voice(voice))
            if len(self._spoken) >= 4096:  # prompts are few; templated texts are not
                self._spoken.clear()
            self._spoken[(text, voice)] = spoken
        return spoken

    def key(self, text: str, language: str) -> str:
        """The cache key of ``text`` spoken in ``language`` at the configured rate."""
        voice = self.voice_for(language)
        parts: list[object] = [text, voice, self._rate]
        if (spoken := self.spoken(text, language)) != text:
            parts.append({"spoken": spoken})
        if is_pinyin_voice(voice):
            parts.append(f"pinyin-{PINYIN_FRONTEND}")
        elif is_kokoro_voice(voice):
            parts.append(f"kokoro-{KOKORO_FRONTEND}-pinyin-{PINYIN_FRONTEND}")
        digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode())
        return digest.hexdigest()[:16]

    def cached(self, text: str, language: str) -> PromptAudio | None:
        """The prompt if it is already rendered, else None. Never renders."""
        return self._cached(self.key(text, language))

    async def ensure(self, text: str, language: str, *, share: bool = False,
                     private: bool = False, ahead: bool = False) -> PromptAudio:
        """The prompt, rendered now unless cached; concurrent calls for one key render once.
        ``share``: a dialplan's own text, which may come from and go to the host-wide cache.
        ``private``: a per-call text (module docstring): a short-lived file, never indexed.
        ``ahead``: rendered before anyone needs it: every call's job goes first."""
        if not text.strip():
            raise PromptError("prompt-empty-text", "cannot render an empty prompt")
        key = self.key(text, language)
        if private:
            return await self._ensure_private(key, text, language)
        if (audio := self._cached(key)) is not None:
            return audio
        async with self._key_locks.hold(key):
            if (audio := self._cached(key)) is not None:
                return audio
            share = share and self._shared is not None
            if share and (audio := await self._from_shared(key, text, language)) is not None:
                return audio
            audio = await self._render(key, text, self.spoken(text, language),
                                       self.voice_for(language), ahead=ahead)
            if share:
                await asyncio.to_thread(self._to_shared, audio)
            return audio

    async def render_all(
        self,
        items: Iterable[tuple[str, str]],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[PromptAudio]:
        """Ensure every (text, language) pair, in order; cached ones cost nothing.

        Every language is checked before anything renders. ``on_progress(done, total)``
        is called after each item.
        """
        pairs = list(items)
        for _, language in pairs:
            self.voice_for(language)
        done: list[PromptAudio] = []
        for text, language in pairs:
            done.append(await self.ensure(text, language, share=True, ahead=True))
            if on_progress is not None:
                on_progress(len(done), len(pairs))
        return done

    async def warm(self, languages: Iterable[str]) -> None:
        """Start the worker and load each language's voice in it (when every prompt came
        from a cache, nothing has), so the first caller's answer does not wait for a process
        and a model to load."""
        for language in languages:
            async with self._lane.turns.turn(urgent=False):
                await self._run_in_worker("OK" if language.lower().startswith("en") else "好",
                                          self.voice_for(language))
                self._lane.scratch.unlink(missing_ok=True)

    async def aclose(self) -> None:
        """Stop the worker (after the job it is running, if any); renders then fail.
        Per-call files go at once."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        async with self._lane.turns.turn(urgent=True):
            await self._lane.stop(kill=False)
        self._private_used.clear()
        await asyncio.to_thread(shutil.rmtree, self._private_dir, ignore_errors=True)

    # Per-call texts ---------------------------------------------------------
    async def _ensure_private(self, key: str, text: str, language: str) -> PromptAudio:
        if (audio := self._cached(key)) is not None:  # said by a dialplan too: nothing private
            return audio
        async with self._key_locks.hold(key):
            self._private_used[key] = time.monotonic()
            self._schedule_sweep()
            if (audio := self._cached(key, private=True)) is not None:
                return audio
            audio = await self._render(key, text, self.spoken(text, language),
                                       self.voice_for(language), private=True)
            self._private_used[key] = time.monotonic()  # the clock starts once it exists
            return audio

    def hold(self, key: str) -> None:
        """A call is using this per-call text: keep its file until :meth:`release`."""
        self._private_holds[key] = self._private_holds.get(key, 0) + 1

    async def release(self, keys: Iterable[str]) -> None:
        """The call that held these per-call texts ended: a file no other call holds goes
        now."""
        for key in keys:
            holders = self._private_holds.get(key, 0) - 1
            if holders > 0:
                self._private_holds[key] = holders
                continue
            self._private_holds.pop(key, None)
            async with self._key_locks.hold(key):
                if key in self._private_holds:  # another call took it meanwhile
                    continue
                self._private_used.pop(key, None)
                await asyncio.to_thread(self._wav_path(key, private=True).unlink,
                                        missing_ok=True)

    def _schedule_sweep(self) -> None:
        if self._sweeper is None and not self._closed:
            self._sweeper = asyncio.get_running_loop().call_later(
                PRIVATE_SECONDS / 2, self._start_sweep)

    def _start_sweep(self) -> None:
        self._sweeper = None
        task = asyncio.create_task(self._sweep(), name="ivr-prompt-sweep")
        self._sweeping.add(task)
        task.add_done_callback(self._sweeping.discard)

    async def _sweep(self) -> None:
        """Remove the per-call files no call holds and nobody asked for in PRIVATE_SECONDS."""
        cutoff = time.monotonic() - PRIVATE_SECONDS
        for key in [k for k, used in self._private_used.items() if used <= cutoff]:
            async with self._key_locks.hold(key):  # not while a call is being handed it
                if (self._private_used.get(key, cutoff + 1) > cutoff
                        or key in self._private_holds):
                    continue
                del self._private_used[key]
                await asyncio.to_thread(self._wav_path(key, private=True).unlink,
                                        missing_ok=True)
        if self._private_used:
            self._schedule_sweep()

    # The host-wide cache ----------------------------------------------------
    async def _from_shared(self, key: str, text: str, language: str) -> PromptAudio | None:
        assert self._shared is not None
        source = self._shared / f"{key}.wav"
        try:
            wav = await asyncio.to_thread(read_wav_format, source)
            if (wav.rate, wav.channels, wav.sample_width) != (TELEPHONY_RATE, 1, 2) or not wav.frames:
                return None
            data = await asyncio.to_thread(source.read_bytes)
            await asyncio.to_thread(write_file_atomically, self._wav_path(key), data)
        except (OSError, PromptError):
            return None
        async with self._index_lock:
            entry: dict[str, Any] = {"text": text, "voice": self.voice_for(language),
                                     "rate": self._rate, "from": str(self._shared)}
            await asyncio.to_thread(_add_to_index, self._dir / "index.json", key, entry)
        return self._audio(key, wav.frames)

    def _to_shared(self, audio: PromptAudio) -> None:
        assert self._shared is not None
        try:
            self._shared.mkdir(parents=True, exist_ok=True)
            write_file_atomically(self._shared / audio.path.name, audio.path.read_bytes())
        except OSError as err:  # a read-only home: this instance just renders its own
            _LOG.warning("could not keep prompt %s in %s: %s", audio.key, self._shared, err)

    # Rendering --------------------------------------------------------------
    def _cached(self, key: str, *, private: bool = False) -> PromptAudio | None:
        try:
            wav = read_wav_format(self._wav_path(key, private=private))
        except PromptError:
            return None
        if (wav.rate, wav.channels, wav.sample_width) != (TELEPHONY_RATE, 1, 2) or not wav.frames:
            return None
        return self._audio(key, wav.frames, private=private)

    async def _render(self, key: str, text: str, spoken: str, voice: str, *,
                      private: bool = False, ahead: bool = False) -> PromptAudio:
        started = time.perf_counter()
        lane = self._lane
        # One job at a time: the worker's 22,050 Hz scratch file is ours until converted.
        # (A job abandoned by a cancelled caller finishes first: the worker is FIFO.)
        async with lane.turns.turn(urgent=not ahead):
            await self._run_in_worker(spoken, voice)
            wav = self._wav_path(key, private=private)
            if private:
                await asyncio.to_thread(wav.parent.mkdir, parents=True, exist_ok=True)
            pause = _pause_after(text) if private else 0.0
            samples = await asyncio.to_thread(_convert_for_asterisk, lane.scratch, wav, pause)
        self.render_count += 1
        elapsed = time.perf_counter() - started
        _LOG.debug(
            "rendered %s %s (%s, %d wpm, %.1f s of audio) in %.2f s",
            "per-call text" if private else "prompt",
            key,
            voice,
            self._rate,
            samples / TELEPHONY_RATE,
            elapsed,
        )
        if private:  # never in index.json: it may hold the caller's account data
            return self._audio(key, samples, private=True)
        async with self._index_lock:
            entry: dict[str, Any] = {"text": text, "voice": voice, "rate": self._rate}
            if spoken != text:
                entry["spoken"] = spoken
            await asyncio.to_thread(_add_to_index, self._dir / "index.json", key, entry)
        return self._audio(key, samples)

    async def _run_in_worker(self, text: str, voice: str) -> None:
        """Speak ``text`` into the scratch file (the caller holds the worker's turn)."""
        lane = self._lane
        for attempt in (1, 2):
            if self._closed:
                raise PromptError("prompt-renderer-closed", "the prompt renderer is closed")
            worker = lane.worker = lane.worker or TtsWorker()
            try:
                # The first submit starts the process (fork+exec): off the loop, and
                # outside the timeout so that a timed-out job always has a pid to kill.
                job = await asyncio.to_thread(worker.submit, text, voice, self._rate,
                                              lane.scratch)
                async with asyncio.timeout(self._render_timeout):
                    await asyncio.wrap_future(job)
                return
            except BrokenProcessPool as err:
                await lane.stop(kill=True)
                if attempt == 2:
                    raise PromptError(
                        "prompt-render-failed",
                        "the TTS worker process died twice in a row (see its stderr)",
                    ) from err
                _LOG.warning("TTS worker process died; starting a new one")
            except TimeoutError as err:
                await lane.stop(kill=True)
                raise PromptError(
                    "prompt-render-timeout",
                    f"no audio after {self._render_timeout:g} s; killed the TTS worker",
                ) from err
            except LookupError as err:  # raised before the engine was touched
                raise PromptError("prompt-no-voice", str(err)) from err
            except Exception as err:
                await lane.stop(kill=True)
                raise PromptError("prompt-render-failed", f"the voice {voice!r} failed: {err}") from err

    def _wav_path(self, key: str, *, private: bool = False) -> Path:
        return (self._private_dir if private else self._dir) / f"{key}.wav"

    def _audio(self, key: str, samples: int, *, private: bool = False) -> PromptAudio:
        name = f"{self._private_dir.relative_to(self._dir).as_posix()}/{key}" if private else key
        return PromptAudio(
            key=key,
            name=name,
            path=self._wav_path(key, private=private),
            asterisk_name=f"{self._asterisk_dir}/{name}",
            duration=samples / TELEPHONY_RATE,
            samples=samples,
            private=private,
        )


class _Lane:
    """The worker process and the turns that give it one job at a time."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.worker: TtsWorker | None = None
        self.turns = _Turns()

    @property
    def pid(self) -> int | None:
        return self.worker.pid if self.worker else None

    async def stop(self, *, kill: bool) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            await worker.stop(kill=kill)


class _Turns:
    """A lock whose urgent waiters (a call's job) go before the others (prompts rendered
    ahead); first come, first served within each kind."""

    def __init__(self) -> None:
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []  # a heap
        self._arrivals = itertools.count()

    @contextlib.asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        if self._busy or self._waiting:
            given: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (0 if urgent else 1, next(self._arrivals), given))
            try:
                await given
            except BaseException:
                if given.done() and not given.cancelled():  # handed the turn, then cancelled
                    self._pass_on()
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        while self._waiting:
            given = heapq.heappop(self._waiting)[2]
            if not given.done():  # a cancelled waiter's future is done
                given.set_result(None)
                return
        self._busy = False


class _KeyedLocks:
    """One asyncio.Lock per key, dropped once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def _pause_after(text: str) -> float:
    """Silence to end a per-call piece with: a Mandarin answer is played clause by clause
    (:func:`ivr.flow.context.answer_pieces`), and the voice trims its own pauses."""
    end = text.rstrip()[-1:]
    return 0.2 if end and end in "，；：、" else 0.3 if end and end in "。！？" else 0.0


def _convert_for_asterisk(raw: Path, wav: Path, pause: float = 0.0) -> int:
    """Resample the worker's output to an 8 kHz prompt, ``pause`` seconds of silence after
    it; return its number of samples."""
    try:
        samples, rate = read_wav(raw)
        pcm = to_telephony(samples, rate)
        if not pcm.size:
            raise PromptError("prompt-render-failed", "espeak-ng produced no audio")
        if pause > 0:
            pcm = np.concatenate([pcm, np.zeros(int(pause * TELEPHONY_RATE), pcm.dtype)])
        write_wav(wav, pcm, TELEPHONY_RATE)
        return int(pcm.size)
    finally:
        raw.unlink(missing_ok=True)


def _remove_stale_private(folder: Path) -> None:
    """Remove per-call files a killed process left behind (older than an hour)."""
    cutoff = time.time() - STALE_PRIVATE_SECONDS
    with contextlib.suppress(OSError):
        for child in folder.iterdir():
            with contextlib.suppress(OSError):
                for wav in child.glob("*.wav"):
                    if wav.stat().st_mtime < cutoff:
                        wav.unlink(missing_ok=True)
                child.rmdir()  # fails while it still holds a file: fine


def _add_to_index(index: Path, key: str, entry: dict[str, Any]) -> None:
    """Record what a key says in index.json, for humans; never fails a render."""
    try:
        try:
            prompts = json.loads(index.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            prompts = {}
        if not isinstance(prompts, dict):
            prompts = {}
        prompts[key] = entry
        text = json.dumps(prompts, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        write_file_atomically(index, text.encode())
    except OSError as err:
        _LOG.warning("could not update %s: %s", index, err)
