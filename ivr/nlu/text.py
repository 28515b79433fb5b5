"""Text clean-up and hashed character/word n-grams (pure, no model).

Everything a transcript may carry (markup, emoji, 5,000 characters, mixed scripts) is reduced
to a bounded, lowercase string before any model sees it.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

import numpy as np

MAX_CHARS = 400
"""Longer transcripts are cut: an intent is stated early, and latency must stay bounded."""
NGRAM_DIM = 1 << 13
_TAG = re.compile(r"<[^>]{0,200}>")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
_TOKEN = re.compile(r"[a-z0-9']+|[\u3400-\u9fff]")
# Fillers and politeness around what a caller wants carry no intent; they are dropped from the
# ends (never when nothing would be left: "hello" alone stays "hello").
_ZH_HEAD = re.compile(r"^(?:喂|你好|您好|嗯|呃|啊|那个|就是|请问|我想问一下|我想问问|麻烦|哦)+")
_ZH_TAIL = re.compile(r"(?:谢谢|谢谢你|吧|啊|呢|呀|嘛|可以吗|麻烦你|快点|好吗|一下)+$")
_EN_HEAD = re.compile(r"^(?:(?:um|uh|er|erm|yeah|hi|hello|hey|yes|so|ok|okay|well|there)\s+)+")
_EN_TAIL = re.compile(r"(?:\s+(?:please|thanks|thank you|uh|um|ok|okay|i think))+$")


def clean(text: str) -> str:
    """Lowercase words and CJK characters only, single spaces, at most MAX_CHARS."""
    text = unicodedata.normalize("NFKC", text or "")[: MAX_CHARS * 4]
    text = _TAG.sub(" ", text).lower()
    joined = _CJK_GAP.sub("", " ".join(_TOKEN.findall(text)))
    return strip_fillers(joined[:MAX_CHARS].strip())


def strip_fillers(text: str) -> str:
    """Drop fillers ("um", "喂你好", "thanks", "麻烦你") from both ends of a cleaned text."""
    if has_cjk(text):
        core = _ZH_TAIL.sub("", _ZH_HEAD.sub("", text)).strip()
    else:
        core = _EN_TAIL.sub("", _EN_HEAD.sub("", text)).strip()
    return core or text


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def _grams(text: str) -> list[str]:
    words = text.split()
    out = [f"w:{w}" for w in words]
    out += [f"b:{a}_{b}" for a, b in zip(words, words[1:], strict=False)]
    compact = f"^{text.replace(' ', '')}$" if has_cjk(text) else f" {text} "
    sizes = (1, 2, 3) if has_cjk(text) else (3, 4, 5)
    for n in sizes:
        out += [f"c{n}:{compact[i:i + n]}" for i in range(max(0, len(compact) - n + 1))]
    return out


_FUZZY = ((re.compile(r"^zh"), "z"), (re.compile(r"^ch"), "c"), (re.compile(r"^sh"), "s"),
          (re.compile(r"^n(?=[^g]|$)"), "l"), (re.compile(r"^r"), "l"), (re.compile(r"^f"), "h"),
          (re.compile(r"ing$"), "in"), (re.compile(r"eng$"), "en"), (re.compile(r"ang$"), "an"))


def fuzzy_syllable(syllable: str) -> str:
    """A toneless pinyin syllable with the distinctions recognisers (and many southern
    speakers) blur merged: zh/z, ch/c, sh/s, n/l/r, f/h, -ing/-in, -eng/-en, -ang/-an."""
    for pattern, repl in _FUZZY:
        syllable = pattern.sub(repl, syllable)
    return syllable


def pinyin_syllables(text: str) -> list[str]:
    """Toneless pinyin of the hanzi in a cleaned text (``余额`` → ``yu e``); other words
    are kept as they are."""
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for token in text.split():
        if has_cjk(token):
            out += [s for s in lazy_pinyin(token, style=Style.NORMAL, errors="ignore") if s]
        else:
            out.append(token)
    return out


def pinyin_vector(text: str, dim: int = NGRAM_DIM) -> np.ndarray:
    """Hashed, log-scaled, L2-normalised pinyin 1-3 grams, exact and fuzzy: homophones the
    recogniser writes with other characters (余额 → 鱼额, 投诉 → 投数) share these features.
    Text without hanzi has none (a zero vector)."""
    vec = np.zeros(dim, dtype=np.float32)
    cleaned = clean(text)
    if not has_cjk(cleaned):
        return vec
    exact = pinyin_syllables(cleaned)
    fuzzy = [fuzzy_syllable(s) for s in exact]
    grams = []
    for tag, seq in (("p", exact), ("f", fuzzy)):
        for n in (1, 2, 3):
            grams += [f"{tag}{n}:" + "_".join(seq[i:i + n]) for i in range(len(seq) - n + 1)]
    for gram in grams:
        vec[zlib.crc32(gram.encode()) % dim] += 1.0
    np.log1p(vec, out=vec)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


def ngram_vector(text: str, dim: int = NGRAM_DIM) -> np.ndarray:
    """Hashed, log-scaled, L2-normalised counts of word 1-2 grams and character n-grams
    (3-5 for Latin text, 1-3 for Chinese)."""
    vec = np.zeros(dim, dtype=np.float32)
    for gram in _grams(clean(text)):
        vec[zlib.crc32(gram.encode()) % dim] += 1.0
    np.log1p(vec, out=vec)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec
