"""Prompts rendered by pyttsx3 over espeak-ng (or a packaged Piper voice) into 8 kHz WAV
files Asterisk can play.

A prompt is cached as ``sounds_dir/<key>.wav``, the key hashing (text, voice, rate), so each
renders once. English is spoken through a pronunciation lexicon (:mod:`ivr.speech.lexicon`):
the voice is given the prompt's *spoken form* (``refunds`` said as ``re-funds``), which the
key also holds when it differs from the text, so a lexicon change renders those prompts
again. Mandarin is spoken by espeak-ng's ``cmn-latn-pinyin`` voice from pinyin
(:mod:`ivr.speech.pinyin`, converted in the worker); its key also holds the version of that
conversion, so a better one re-renders the prompts. pyttsx3 keeps one engine per process
and is not thread-safe, so every render runs in one dedicated worker process (spawned: no
inherited threads or locks), one job at a time; a thread of the server converts the
worker's 22,050 Hz output to 8 kHz. The event loop only waits, and every render has a
timeout.

The dialplans' own prompts (:meth:`PromptRenderer.render_all`; never a per-call text, which
may hold account data) are also kept in a host-wide folder, ``prompts.shared_cache``
(default ``~/.cache/ivr/prompts``): another data folder on the same host, a fresh install or
a second instance, copies them from there instead of rendering them again. The neural
Mandarin voice needs about half a second per second of speech, so a first start takes
minutes; a later one, seconds.

The worker process and the pyttsx3 quirks it works around: :mod:`ivr.speech.tts_worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True, slots=True)
class PromptAudio:
    """A rendered prompt on disk, ready for STREAM FILE or GET DATA."""

    key: str  # cache key (16 hex digits) from (text, voice, rate)
    path: Path  # absolute path of the 8 kHz 16-bit mono .wav
    asterisk_name: str  # f"{asterisk_dir}/{key}": what Asterisk plays (no extension)
    duration: float  # seconds
    samples: int  # number of 8 kHz samples


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
        self._worker: TtsWorker | None = None
        self._worker_lock = asyncio.Lock()  # one job in the worker at a time
        self._scratch = self._dir / f".render-{os.getpid()}.wav"  # unique per server process
        self._key_locks = _KeyedLocks()
        self._index_lock = asyncio.Lock()
        self._closed = False

    @property
    def worker_pid(self) -> int | None:
        """Process id of the TTS worker, if one is running."""
        return self._worker.pid if self._worker else None

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

    async def ensure(self, text: str, language: str, *, share: bool = False) -> PromptAudio:
        """The prompt, rendered now unless cached; concurrent calls for one key render once.
        ``share``: a dialplan's own text, which may come from and go to the host-wide cache."""
        if not text.strip():
            raise PromptError("prompt-empty-text", "cannot render an empty prompt")
        key = self.key(text, language)
        if (audio := self._cached(key)) is not None:
            return audio
        async with self._key_locks.hold(key):
            if (audio := self._cached(key)) is not None:
                return audio
            share = share and self._shared is not None
            if share and (audio := await self._from_shared(key, text, language)) is not None:
                return audio
            audio = await self._render(key, text, self.spoken(text, language),
                                       self.voice_for(language))
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
            done.append(await self.ensure(text, language, share=True))
            if on_progress is not None:
                on_progress(len(done), len(pairs))
        return done

    async def aclose(self) -> None:
        """Stop the worker (after the job it is running, if any); renders then fail."""
        self._closed = True
        async with self._worker_lock:
            await self._stop_worker(kill=False)

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
    def _cached(self, key: str) -> PromptAudio | None:
        try:
            wav = read_wav_format(self._wav_path(key))
        except PromptError:
            return None
        if (wav.rate, wav.channels, wav.sample_width) != (TELEPHONY_RATE, 1, 2) or not wav.frames:
            return None
        return self._audio(key, wav.frames)

    async def _render(self, key: str, text: str, spoken: str, voice: str) -> PromptAudio:
        started = time.perf_counter()
        # One job at a time: the worker's 22,050 Hz scratch file is ours until converted.
        # (A job abandoned by a cancelled caller finishes first: the worker is FIFO.)
        async with self._worker_lock:
            await self._run_in_worker(spoken, voice, self._scratch)
            wav = self._wav_path(key)
            samples = await asyncio.to_thread(_convert_for_asterisk, self._scratch, wav)
        self.render_count += 1
        elapsed = time.perf_counter() - started
        _LOG.debug(
            "rendered prompt %s (%s, %d wpm, %.1f s of audio) in %.2f s",
            key,
            voice,
            self._rate,
            samples / TELEPHONY_RATE,
            elapsed,
        )
        async with self._index_lock:
            entry: dict[str, Any] = {"text": text, "voice": voice, "rate": self._rate}
            if spoken != text:
                entry["spoken"] = spoken
            await asyncio.to_thread(_add_to_index, self._dir / "index.json", key, entry)
        return self._audio(key, samples)

    async def _run_in_worker(self, text: str, voice: str, out: Path) -> None:
        for attempt in (1, 2):
            if self._closed:
                raise PromptError("prompt-renderer-closed", "the prompt renderer is closed")
            worker = self._worker = self._worker or TtsWorker()
            try:
                # The first submit starts the process (fork+exec): off the loop, and
                # outside the timeout so that a timed-out job always has a pid to kill.
                job = await asyncio.to_thread(worker.submit, text, voice, self._rate, out)
                async with asyncio.timeout(self._render_timeout):
                    await asyncio.wrap_future(job)
                return
            except BrokenProcessPool as err:
                await self._stop_worker(kill=True)
                if attempt == 2:
                    raise PromptError(
                        "prompt-render-failed",
                        "the TTS worker process died twice in a row (see its stderr)",
                    ) from err
                _LOG.warning("TTS worker process died; starting a new one")
            except TimeoutError as err:
                await self._stop_worker(kill=True)
                raise PromptError(
                    "prompt-render-timeout",
                    f"no audio after {self._render_timeout:g} s; killed the TTS worker",
                ) from err
            except LookupError as err:  # raised before the engine was touched
                raise PromptError("prompt-no-voice", str(err)) from err
            except Exception as err:
                await self._stop_worker(kill=True)
                raise PromptError("prompt-render-failed", f"the voice {voice!r} failed: {err}") from err

    async def _stop_worker(self, *, kill: bool) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.stop(kill=kill)

    def _wav_path(self, key: str) -> Path:
        return self._dir / f"{key}.wav"

    def _audio(self, key: str, samples: int) -> PromptAudio:
        return PromptAudio(
            key=key,
            path=self._wav_path(key),
            asterisk_name=f"{self._asterisk_dir}/{key}",
            duration=samples / TELEPHONY_RATE,
            samples=samples,
        )


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


def _convert_for_asterisk(raw: Path, wav: Path) -> int:
    """Resample the worker's output to an 8 kHz prompt; return its number of samples."""
    try:
        samples, rate = read_wav(raw)
        pcm = to_telephony(samples, rate)
        if not pcm.size:
            raise PromptError("prompt-render-failed", "espeak-ng produced no audio")
        write_wav(wav, pcm, TELEPHONY_RATE)
        return int(pcm.size)
    finally:
        raw.unlink(missing_ok=True)


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
