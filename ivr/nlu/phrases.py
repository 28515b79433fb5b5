"""The plain :class:`~ivr.nlu.api.Understander`: a question's phrases, no model.

A choice wins when one of its phrases appears in the transcript (or most of its words do;
in Chinese, or its pinyin does: recognisers write homophones); "one" / "press one" picks the
keypad option 1.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from ivr.nlu.api import Match
from ivr.speech.numbers import parse_digits


def normalise(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


class PhraseMatcher:
    """Phrase containment first, then word overlap, then a spoken keypad key."""

    def __init__(self, min_overlap: float = 0.6) -> None:
        self.min_overlap = min_overlap

    def match(self, text: str, choices: Mapping[str, Sequence[str]], language: str,
              keys: Mapping[str, str] | None = None) -> Match | None:
        said = normalise(text)
        if not said:
            return None
        cjk = language.startswith(("zh", "ja", "ko"))
        compact = said.replace(" ", "")
        best: Match | None = None
        best_rank = (0.0, 0)
        for choice, phrases in choices.items():
            for phrase in phrases:
                p = normalise(phrase)
                if not p:
                    continue
                if (p.replace(" ", "") in compact) if cjk else (f" {p} " in f" {said} "):
                    score = 1.0
                elif cjk and _sounds_in(p, said):
                    score = 0.9  # a homophone the recogniser wrote: 事 for 是, 鱼额 for 余额
                else:
                    score = _overlap(p.split(), said.split()) * 0.9
                # Ties go to the longer phrase: "不是" (no) must beat "是" (yes) inside it.
                rank = (score, len(p))
                if score >= self.min_overlap and (best is None or rank > best_rank):
                    best, best_rank = Match(choice, round(score, 3)), rank
        if best is None and keys:
            digits = parse_digits(re.sub(r"\b(press|option|number|key)\b", " ", said), language)
            if digits and digits in keys:
                best = Match(keys[digits], 0.9)
        return best


def _sounds_in(phrase: str, said: str) -> bool:
    """The phrase's toneless pinyin appears, syllable for syllable, in what was said."""
    from ivr.nlu.text import has_cjk, pinyin_syllables

    if not has_cjk(phrase):
        return False
    want = pinyin_syllables(phrase.replace(" ", ""))
    got = pinyin_syllables(said.replace(" ", ""))
    return any(got[i:i + len(want)] == want for i in range(len(got) - len(want) + 1))


def _overlap(wanted: list[str], said: list[str]) -> float:
    """Share of the phrase's words heard, a near miss ("funds" for "refund") counting 0.8."""
    if not wanted or not said:
        return 0.0
    total = 0.0
    for word in wanted:
        best = max(difflib.SequenceMatcher(None, word, other).ratio() for other in said)
        total += 1.0 if best == 1.0 else 0.8 if best >= 0.75 else 0.0
    return total / len(wanted)
