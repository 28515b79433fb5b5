"""Distress in the caller's words: lexical cues plus sentiment (VADER for English, SnowNLP
for Chinese). Pure functions over a transcript; no audio."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "en-US": {
        "complaint": ("complain", "complaint", "regulator", "ombudsman", "lawyer", "attorney",
                      "sue you", "legal action", "cfpb", "report you", "better business bureau",
                      "close my account", "unacceptable", "ridiculous", "useless"),
        "fraud": ("fraud", "stolen", "stole", "scam", "hacked", "unauthorized", "unauthorised",
                  "someone took", "not me", "didn't make", "did not make"),
        "profanity": ("damn", "hell", "shit", "fuck", "crap", "bloody", "bullshit", "idiot",
                      "stupid"),
        "urgency": ("urgent", "emergency", "right now", "immediately", "all my money",
                    "my savings", "my family", "my kids", "my children", "my rent", "hospital",
                    "help me", "please help", "desperate", "can't pay", "cannot pay", "panic",
                    "scared", "losing money", "gone"),
        "repeat_calls": ("again", "times already", "fifth time", "third time", "called before",
                         "keep calling", "every time", "still not", "nobody"),
    },
    "zh-CN": {
        "complaint": ("投诉", "监管", "银保监", "人民银行", "律师", "起诉", "曝光", "12315", "举报",
                      "太差", "差劲", "不像话", "销户"),
        "fraud": ("诈骗", "被盗", "盗刷", "被骗", "骗子", "不是我", "没有授权", "欺诈"),
        "profanity": ("妈的", "他妈", "混蛋", "垃圾", "傻", "滚", "靠"),
        "urgency": ("紧急", "马上", "立刻", "赶紧", "救命", "求求", "急死", "所有的钱", "全部的钱",
                    "积蓄", "家人", "孩子", "医院", "房租", "没钱"),
        "repeat_calls": ("又", "第三次", "第五次", "好几次", "多少次", "一直", "还是没", "没人"),
    },
}
AGENT_WORDS = {
    "en-US": ("agent", "representative", "operator", "human", "real person", "someone real",
              "customer service", "supervisor", "manager"),
    "zh-CN": ("人工", "客服", "真人", "转人工", "经理", "主管", "人工客服", "人工服务"),
}
_AGENT_MENTIONS = {
    lang: re.compile("|".join((r"\b{}\b" if lang == "en-US" else "{}").format(re.escape(w))
                              for w in sorted(phrases, key=len, reverse=True)))
    for lang, phrases in AGENT_WORDS.items()}
"""One match per request for an agent, longest phrase first: 转人工 is one request, not 转人工
plus the 人工 inside it (which made a single calm request count as insisting)."""
CUE_WEIGHTS = {"agent_repeat": 0.8, "complaint": 0.6, "fraud": 0.55, "profanity": 0.55,
               "urgency": 0.5, "repeat_calls": 0.35, "shouting": 0.3, "negative": 0.55}
REASONS = {"agent_repeat": "repeated agent requests", "complaint": "complaint/regulator threat",
           "fraud": "fraud or theft", "profanity": "profanity", "urgency": "urgency (money/family)",
           "repeat_calls": "repeat contact", "shouting": "shouting (caps/!!)",
           "negative": "negative sentiment"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True, slots=True)
class WordEvidence:
    """What the words say: cue strengths (0..1), a combined score and a confidence."""

    score: float
    confidence: float
    cues: dict[str, float]


def assess(text: str, language: str, agent_requests: int = 0) -> WordEvidence:
    """Score a transcript; a script that does not match ``language`` gives no evidence."""
    text = text.strip()
    lang = "zh-CN" if language.startswith("zh") else "en-US"
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    size = cjk / 2 if lang == "zh-CN" else latin  # ~words
    if not text or (lang == "zh-CN" and cjk < latin) or (lang == "en-US" and cjk > latin):
        agent = _ramp_agents(agent_requests)
        only = {"agent_repeat": agent} if agent else {}
        return WordEvidence(CUE_WEIGHTS["agent_repeat"] * agent, 0.6 if agent else 0.0, only)
    lower = text.lower()
    cues: dict[str, float] = {}
    for name, words in CUES[lang].items():
        hits = sum(1 for w in words if _has(lower, w, lang))
        if hits:
            cues[name] = min(1.0, 0.75 + 0.25 * (hits - 1))
    agents = len(_AGENT_MENTIONS[lang].findall(lower)) + agent_requests
    if (agent := _ramp_agents(agents)) > 0:
        cues["agent_repeat"] = agent
    if lang == "en-US" and (text.count("!") >= 2 or _caps_share(text) >= 0.5 and latin >= 3):
        cues["shouting"] = 1.0
    negative = _negativity(text, lang)
    if negative > 0:
        cues["negative"] = round(negative, 3)
    keep = 1.0
    for name, strength in cues.items():
        keep *= 1.0 - CUE_WEIGHTS[name] * strength
    score = 1.0 - keep
    strong = sum(1 for k, v in cues.items() if k != "negative" and v >= 0.5)
    # clear cues carry confidence on their own; sentiment alone needs enough words
    confidence = min(0.95, 0.6 + 0.1 * strong + 0.02 * size) if strong else min(0.6, 0.05 * size)
    return WordEvidence(score, confidence, {k: round(v, 3) for k, v in cues.items()})


def _has(lower: str, phrase: str, lang: str) -> bool:
    return _count(lower, phrase, lang) > 0


def _count(lower: str, phrase: str, lang: str) -> int:
    if lang == "zh-CN":
        return lower.count(phrase)
    return len(re.findall(rf"\b{re.escape(phrase)}\b", lower))


def _ramp_agents(n: int) -> float:
    """One request for an agent is a preference; two is insistence; three is distress."""
    return {0: 0.0, 1: 0.0, 2: 0.6}.get(n, 1.0)


def _caps_share(text: str) -> float:
    words = [w for w in _LATIN_WORD.findall(text) if len(w) > 1]
    return sum(1 for w in words if w.isupper()) / len(words) if words else 0.0


def _negativity(text: str, lang: str) -> float:
    """0 (neutral or positive) to 1 (very negative)."""
    if lang == "zh-CN":
        positive = float(_snownlp()(text).sentiments)
        return max(0.0, (0.3 - positive) / 0.3) * 0.8  # SnowNLP is trained on reviews: damped
    compound = float(_vader().polarity_scores(text)["compound"])
    return max(0.0, -compound)


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@cache
def _snownlp() -> Any:
    from snownlp import SnowNLP

    return SnowNLP


def agent_mentions(text: str, language: str) -> int:
    """How many times the caller asked for a person in ``text``."""
    lang = "zh-CN" if language.startswith("zh") else "en-US"
    return len(_AGENT_MENTIONS[lang].findall(text.lower()))
