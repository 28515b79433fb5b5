"""Is a rendered prompt intelligible? Transcribe it back with the recogniser of its language.

Used by the prompt test (tests/speech/test_prompt_intelligibility.py) and ``make bench``.
Scores are word error rate (English) and character error rate (Mandarin) after a fair
normalisation of both the prompt text and what was heard:

* both: case folded, punctuation and spaces dropped, the brand ``Acme`` kept as one word;
* English: digits as words (``press 1`` = ``press one``, ``$2`` = ``two dollars``),
  ``#``/``*``/``%`` as ``pound``/``star``/``percent``, hyphens as spaces. A small recogniser
  does not know the brand: what it writes for the sound of "Acme" (``acne``, ``at me``,
  ``atme``, ``akme``) counts as ``acme``;
* Mandarin: Traditional characters as Simplified, digits as the number words a prompt
  speaks (``按1`` = ``按一``, 幺 = 一), so only what a listener hears differently counts.
  Homophones (按/暗) count as errors: the recogniser heard another word.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ivr.audio.frames import AudioClip
from ivr.speech.asr import Recognizer
from ivr.speech.pinyin import say_numbers
from ivr.speech.say import en_number
from ivr.speech.tts import PromptRenderer
from ivr.telephony.prompt_files import read_wav

_EN_SYMBOLS = {"%": " percent ", "#": " pound ", "*": " star ", "&": " and "}
_EN_BRAND = re.compile(r"\b(?:acne|at me|atme|akme|ackme|acmi)\b")
"""How whisper tiny.en writes the sound of "Acme", a word it does not know."""
_DOLLARS = re.compile(r"\$(\d+)")
_ZH_DROP = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class PromptScore:
    """One prompt transcribed back."""

    language: str
    text: str  # what the prompt says
    heard: str  # what the recogniser heard
    errors: int  # word (en) or character (zh) edits from text to heard
    length: int  # words (en) or characters (zh) in text

    @property
    def error_rate(self) -> float:
        return self.errors / max(1, self.length)


def normalise_en(text: str) -> list[str]:
    """Lowercase words, digits as words, no punctuation."""
    text = _EN_BRAND.sub("acme", _DOLLARS.sub(r"\1 dollars", text.lower()))
    for symbol, word in _EN_SYMBOLS.items():
        text = text.replace(symbol, word)
    text = re.sub(r"\d+", lambda m: " " + en_number(int(m.group())) + " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text.replace("-", " "))
    return [w.strip("'") for w in text.split() if w.strip("'")]


def normalise_zh(text: str) -> list[str]:
    """Characters: Simplified, digits as number words, no punctuation or spaces."""
    text = _simplified(say_numbers(text.replace("幺", "一"))).lower()
    out: list[str] = []
    for piece in re.findall(r"[a-z]+|[^a-z]", _ZH_DROP.sub("", text)):
        out.append(piece)  # a Latin word (acme) is one unit, like one character
    return out


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def score(language: str, text: str, heard: str) -> PromptScore:
    norm = normalise_zh if language.lower().startswith("zh") else normalise_en
    ref, hyp = norm(text), norm(heard)
    return PromptScore(language, text, heard, edit_distance(ref, hyp), len(ref))


def mean_rate(scores: Iterable[PromptScore]) -> float:
    rates = [s.error_rate for s in scores]
    return sum(rates) / len(rates) if rates else 0.0


async def hear_prompts(renderer: PromptRenderer, prompts: Iterable[tuple[str, str]],
                       recognisers: Mapping[str, Recognizer], *,
                       concurrency: int = 2) -> list[PromptScore]:
    """Render each (text, language) prompt (cached ones cost nothing), transcribe it with
    the recogniser of its language, ``concurrency`` at a time, and score it."""
    pairs = list(prompts)
    audios = await renderer.render_all(pairs)
    slots = asyncio.Semaphore(concurrency)

    async def hear(text: str, language: str, path: Path) -> PromptScore:
        samples, rate = await asyncio.to_thread(read_wav, path)
        async with slots:
            heard = await recognisers[language].recognize(AudioClip(samples, rate))
        return score(language, text, heard.text)

    return list(await asyncio.gather(*(hear(text, language, audio.path)
                                       for (text, language), audio in zip(pairs, audios,
                                                                           strict=True))))


def dialplan_prompts(path: Path, languages: Iterable[str] | None = None,
                     extra: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Every (text, language) prompt of a dialplan file, plus ``extra`` {language: text}
    (the server's own apology), optionally only for ``languages``."""
    from ivr.flow.loader import load_file
    from ivr.flow.prompts import plan_texts

    loaded, problems = load_file(path)
    if loaded is None:
        raise ValueError(f"{path}: {problems}")
    pairs = list(plan_texts(loaded.plan))
    pairs += [(text, language) for language, text in (extra or {}).items()
              if (text, language) not in pairs]
    wanted = None if languages is None else set(languages)
    return [(t, lang) for t, lang in pairs if wanted is None or lang in wanted]


def _simplified(text: str) -> str:
    converter = _t2s()
    return text if converter is None else str(converter.convert(text))


@cache
def _t2s() -> Any:
    """OpenCC's Traditional → Simplified converter, if installed (recognisers that already
    write Simplified need none)."""
    try:
        import opencc
    except ImportError:
        return None
    return opencc.OpenCC("t2s")
