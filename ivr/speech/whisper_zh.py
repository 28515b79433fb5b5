"""Mandarin recognition with multilingual Whisper base (CTranslate2), tuned for short turns.

faster-whisper pads every input to Whisper's 30 s window, so a one-second turn costs the
same ~1.5 CPU-seconds as a 30 s one. A caller's turn is short, so this recogniser builds the
log-Mel features itself, pads them to a short window (:mod:`ivr.speech.whisper`) and calls
the CTranslate2 model directly (about a third of the CPU, same accuracy on the bench set).
Longer audio (the command line) goes through faster-whisper's own 30 s windows.

The language token is fixed from the caller's language (never auto-detected: that doubles the
cost and guesses wrong on short turns). Output is converted to Simplified Chinese (OpenCC),
and text Whisper invents on silence or copies from the decoder prompt is removed, so it can
never become an intent.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
from typing import Any

import numpy as np

from ivr.audio.wav import resample
from ivr.speech.asr import Samples, Transcript
from ivr.speech.whisper import NO_SPEECH, WHISPER_RATE, WhisperRecognizer
from ivr.speech.zh_vocabulary import replacements

SHORT_LIMIT = 28.0
"""Longer audio is decoded in faster-whisper's 30 s windows."""
BEAM = 5
UNSURE = 0.3
"""Above this no-speech probability a transcript that is one phrase of the prompt is a copy."""

LEXICON = ("余额", "账户", "挂失", "投诉", "退款", "手续费", "转账", "到账", "人工",
           "客服", "密码", "登录", "手机号", "盗刷", "银行卡", "冻结", "付款", "汇款",
           "收费", "被盗", "丢了", "锁", "号码", "绑定", "修改", "重置", "转接", "交易",
           "消费", "商家", "诈骗", "举报", "查询", "多少", "服务", "不满意", "还没",
           "收到", "取现", "费用")
"""The hotline's words: among the beam's hypotheses, each character of these words that a
hypothesis contains adds :data:`LEXICON_WEIGHT` to its score (rescoring, not a prompt: the
decoder cannot copy it into a transcript)."""
LEXICON_WEIGHT = 0.2
"""Per character, in average log-probability units (bench: CER 62.4 % → 60.2 %)."""
VERIFY_FLOOR, VERIFY_TOP, VERIFY_ROUNDS = 0.55, 8, 1
"""Vocabulary words proposed per round (sounding at least this alike), and rounds."""
VERIFY_MARGIN = 0.0
"""A proposed word is taken when the transcript with it is at most this much less likely per
token (natural log) than the decoder's own, given the audio (dev set, ``python -m
bench.mandarin_dev``: CER 60.0 % → 58.6 %, intent accuracy 40.6 % → 47.2 % before the
intent step's own reading by sound, 55.7 % → 58.5 % with it; a floor of 0.5 let 好 become
号码)."""
HALLUCINATIONS = ("请不吝点赞", "点赞订阅", "订阅转发", "打赏支持", "明镜与点点", "字幕由",
                  "amaraorg", "谢谢观看", "感谢观看", "独播剧场", "yoyotelevision", "中文字幕",
                  "本字幕")
"""Fragments Whisper writes on silence and noise (learnt from video subtitles)."""
_HAN = re.compile(r"[\u3400-\u9fff]+")
_KEEP = re.compile(r"[\u3400-\u9fffA-Za-z0-9]+")
_SPACE_IN_HAN = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_CONVERTER: Any = None
_CONVERTER_LOCK = threading.Lock()


def simplified(text: str) -> str:
    """Traditional characters as Simplified (OpenCC's t2s table, loaded once)."""
    global _CONVERTER
    with _CONVERTER_LOCK:
        if _CONVERTER is None:
            from opencc import OpenCC

            _CONVERTER = OpenCC("t2s")
        converter = _CONVERTER
    return str(converter.convert(text))


def _lexicon_chars(text: str) -> int:
    text = simplified(text)
    return sum(len(word) for word in LEXICON if word in text)


def _plain(text: str) -> str:
    return "".join(_KEEP.findall(text.lower())).replace("帐", "账")


def clean_transcript(text: str, prompt: str | None = None, *, unsure: bool = False) -> str:
    """Simplified Chinese, no spaces between hanzi, no invented subtitles and no text copied
    from ``prompt`` (the decoder prompt): what is left is what the caller said.

    Copied: the whole prompt, four fifths of the transcript matching the prompt in runs, two
    or more of its phrases in a row, or (when the decoder was ``unsure`` there was speech at
    all) exactly one of its phrases."""
    text = _SPACE_IN_HAN.sub("", simplified(text)).strip()
    plain = _plain(text)
    if not plain or any(h in plain for h in HALLUCINATIONS):
        return ""
    if prompt:
        items = [_plain(p) for p in re.split(r"[,，、;；。.!！?？\s]+", simplified(prompt))
                 if _plain(p)]
        whole = _plain(prompt)
        if whole and whole in plain:
            return ""
        if len(plain) >= 10 and plain in whole:
            return ""
        if len(plain) >= 10:  # most of it copied, a character or two changed
            blocks = difflib.SequenceMatcher(None, plain, whole, autojunk=False).get_matching_blocks()
            if sum(b.size for b in blocks if b.size >= 2) >= 0.8 * len(plain):
                return ""
        # a run of two or more prompt phrases in a row is the prompt, not the caller
        pattern = "|".join(re.escape(i) for i in sorted(items, key=len, reverse=True))
        if pattern and re.fullmatch(rf"(?:{pattern}){{2,}}", plain):
            return ""
        if unsure and plain in items:
            return ""
    return text.strip(" ,，。.!！?？、")


class MandarinWhisperRecognizer(WhisperRecognizer):
    """Whisper for Mandarin: language fixed to zh, short window, Simplified output."""

    def __init__(self, model: Any, *args: Any, prompt: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("language", "zh")
        super().__init__(model, *args, **kwargs)
        self._prompt = prompt

    def decode(self, samples: Samples, rate: int, phrases: tuple[str, ...]) -> Transcript:
        """Blocking decode (runs on a pool thread). No decoder prompt by default, and
        ``phrases`` are not used as one: on the bench a prompt of the hotline's vocabulary
        raised CER from 62 % to 81 % (the decoder copies it); only a prompt holding the test
        sentences themselves helped, which would not carry over to real callers."""
        audio = resample(samples, rate, WHISPER_RATE).astype(np.float32) / 32768.0
        seconds = len(audio) / WHISPER_RATE
        if seconds < 0.1:
            return Transcript("", 0.0, engine=self.name, audio_seconds=seconds)
        if seconds > SHORT_LIMIT:
            return self._decode_long(audio, seconds)
        tok = self._tokens()
        encoded = self._model.model.encode(self._window(audio, seconds), to_cpu=True)
        prompt: list[int] = []
        if self._prompt:
            prompt = [tok.sot_prev, *tok.encode(" " + self._prompt)[:200]]
        prompt += [tok.sot, tok.language, tok.transcribe, tok.no_timestamps]
        result = self._model.model.generate(
            encoded, [prompt], beam_size=BEAM, num_hypotheses=BEAM, repetition_penalty=1.1,
            no_repeat_ngram_size=3, max_length=int(30 + 12 * seconds), return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=self._suppress)[0]
        best = max(range(len(result.sequences_ids)), key=lambda i: result.scores[i]
                   + LEXICON_WEIGHT * _lexicon_chars(tok.decode(result.sequences_ids[i])))
        ids = [t for t in result.sequences_ids[best] if t < tok.eot]
        avg_logprob = result.scores[best] * len(ids) / (len(ids) + 1) if ids else -10.0
        if result.no_speech_prob > NO_SPEECH and avg_logprob < -1.0:
            return Transcript("", 0.0, engine=self.name, audio_seconds=seconds)
        text = clean_transcript(tok.decode(ids), self._prompt,
                                unsure=result.no_speech_prob > UNSURE)
        if text:
            text = self._verified(encoded, text, seconds)
        confidence = round(min(1.0, math.exp(avg_logprob)), 3) if text else 0.0
        return Transcript(text, confidence, engine=self.name, audio_seconds=seconds)

    def _verified(self, encoded: Any, text: str, seconds: float) -> str:
        """``text`` with near misses of the hotline's words replaced where the audio supports
        it: :func:`~ivr.speech.zh_vocabulary.replacements` proposes spans that sound like a
        vocabulary word (鱼额 → 余额), the decoder scores every version given the audio
        (teacher-forced token probabilities, one batch), and the likeliest version within
        :data:`VERIFY_MARGIN` per token of the decoder's own transcript is kept (with more than
        one of :data:`VERIFY_ROUNDS`, again on the result). The acoustic model has the last
        word: a caller who said something else keeps it unless the hotline's word fits the
        audio at least as well. The spans are found and scored on the hanzi alone; the
        replacement goes back into the transcript as heard, so its Latin words ("APP"),
        digits and punctuation stay."""
        import ctranslate2

        tok = self._tokens()
        start = [tok.sot, tok.language, tok.transcribe, tok.no_timestamps]
        frames = max(1, int(seconds * 100))
        states = np.asarray(encoded)
        said = "".join(_HAN.findall(text))  # punctuation and Latin words neither help nor
        if not said:                        # hurt the scores; spans may cross a comma
            return text
        original, text = text, said
        where = [i for i, char in enumerate(original) if _HAN.fullmatch(char)]
        # where[k]: the index in original of text[k] (text: the hanzi of original)
        base: float | None = None
        for _ in range(VERIFY_ROUNDS):
            proposed = replacements(text, floor=VERIFY_FLOOR, top=VERIFY_TOP)
            if not proposed:
                break
            variants = [v for v, _m in proposed]
            texts = variants if base is not None else [text, *variants]
            tokens = [tok.encode(t) for t in texts]
            batch = ctranslate2.StorageView.from_array(
                np.ascontiguousarray(np.repeat(states, len(texts), axis=0)))
            aligned = self._model.model.align(batch, start, tokens, [frames] * len(texts))
            scores = [float(np.mean(np.log(np.maximum(np.asarray(a.text_token_probs), 1e-9))))
                      if len(ids) else -99.0 for a, ids in zip(aligned, tokens, strict=True)]
            if base is None:
                base, texts, scores = scores[0], texts[1:], scores[1:]
            best = int(np.argmax(scores))
            if scores[best] < base - VERIFY_MARGIN:
                break
            match, text = proposed[best][1], texts[best]
            original = (original[:where[match.start]] + match.word
                        + original[where[match.end - 1] + 1:])  # the hanzi of it are text
            where = [i for i, char in enumerate(original) if _HAN.fullmatch(char)]
        return original

    def _decode_long(self, audio: np.ndarray, seconds: float) -> Transcript:
        segments, _info = self._model.transcribe(
            audio, language=self._language, beam_size=BEAM, temperature=0.0,
            condition_on_previous_text=False, vad_filter=False, initial_prompt=self._prompt)
        texts, logprobs, weights = [], [], []
        for seg in segments:
            if seg.no_speech_prob > NO_SPEECH and seg.avg_logprob < -1.0:
                continue
            piece = clean_transcript(seg.text, self._prompt, unsure=seg.no_speech_prob > UNSURE)
            if piece:
                texts.append(piece)
                logprobs.append(seg.avg_logprob * len(piece))
                weights.append(len(piece))
        text = "，".join(texts)
        confidence = math.exp(sum(logprobs) / sum(weights)) if weights else 0.0
        return Transcript(text, round(min(1.0, confidence), 3) if text else 0.0,
                          engine=self.name, audio_seconds=seconds)
