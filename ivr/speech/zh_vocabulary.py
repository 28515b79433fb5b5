"""The hotline's Mandarin vocabulary, and where a transcript *sounds like* one of its words.

Whisper base writes Mandarin homophones and near-homophones (余额 → 鱼额 or 如何, 投诉 →
操缩): the syllables survive better than the characters. :func:`sound_alike` finds the span
of a text whose toneless pinyin is closest to a word's (a weighted syllable edit distance:
the same syllable costs 0, a blurred one such as zh/z or -ing/-in 0.2, the same final 0.5,
the same initial 0.7, anything else 1). The recogniser uses it to propose replacements that
the acoustic model then verifies (:mod:`ivr.speech.whisper_zh`); the phrase matcher uses it
to hear a question's phrases in a transcript (:mod:`ivr.nlu.phrases`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORDS = (
    "丢了 举报 交易 人工 付款 余额 修改 冻结 到账 卡丢 取现 号码 商家 多少 客服 密码 投诉 "
    "挂失 收到 收费 服务 查询 汇款 汇率 消费 登录 盗刷 真人 绑定 被盗 诈骗 账户 费用 转接 "
    "转账 还没 退款 重置 限额 不满意 丢卡了 人工台 冻结卡 卡丢了 卡掉了 卡没了 卡被偷 手机号 "
    "手续费 找客服 接人工 接线员 有人吗 查余额 被骗了 要人工 转人工 转客服 银行卡 不明扣款 "
    "举报诈骗 人工坐席 人工客服 人工服务 付款状态 余额够吗 余额查询 剩余金额 包被偷了 卡上余额 "
    "卡片被盗 卡片遗失 卡被抢了 叫个人来 可疑扣款 和客服聊 太失望了 客服人员 密码不对 密码忘了 "
    "密码锁了 帮我锁卡 年费多少 当前余额 怎么投诉 怎么退款 想查退款 我受够了 我很生气 我找人工 "
    "我被骗了 我要人工 我要差评 我要投诉 我要挂失 我要赔偿 我要退款 我要退钱 找个真人 找回账号 "
    "报案被骗 换绑手机 收费标准 改手机号 改绑手机 新手机号 查下余额 查询余额 欧元汇率 申请退钱 "
    "登不进去 登录不了 登录失败 联系客服 要求退款 解锁账户 解除锁定 请转人工 账户余额 账户解锁 "
    "账户锁定 转到人工 转接客服 转账查询 转账费用 还剩多少 退款查询 退款状态 退款申请 退款进度 "
    "退货退款 重置密码 钱包丢了 钱够不够"
)
WORDS: tuple[str, ...] = tuple(_WORDS.split())
"""Words and short phrases callers use on the hotline (2-4 characters): the recogniser's
domain vocabulary: the intent training data's (``models/intents/phrases/zh-CN.txt``) lines of
2-4 characters that belong to one intent (repetitions such as 人工人工 left out), plus the
rescoring lexicon of :mod:`ivr.speech.whisper_zh`. Never a test, dev or bench sentence.
(Adding the training data's frequent jieba words as well did worse on the dev set.)"""

_HAN = re.compile(r"[\u3400-\u9fff]+")
UNKNOWN = "?"
"""The syllable of a character that is not a hanzi (never matches)."""


@dataclass(frozen=True, slots=True)
class SoundAlike:
    """``text[start:end]`` sounds like ``word`` with ``score`` (1 = the same pinyin)."""

    word: str
    score: float
    start: int
    end: int


def syllables(text: str) -> tuple[str, ...]:
    """One toneless pinyin syllable per character of ``text`` (``?`` for a non-hanzi), each
    character read on its own (a garbled transcript has no words to read in context)."""
    return tuple(_one(c) if _HAN.fullmatch(c) else UNKNOWN for c in text)


@lru_cache(maxsize=8192)
def _one(char: str) -> str:
    from pypinyin import Style, lazy_pinyin

    said = lazy_pinyin(char, style=Style.NORMAL, errors="ignore")
    return said[0] if said else UNKNOWN


_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q",
             "x", "r", "z", "c", "s", "y", "w")
_BLUR = {"zh": "z", "ch": "c", "sh": "s", "n": "l", "r": "l", "f": "h"}
_FINAL_BLUR = (("ing", "in"), ("eng", "en"), ("ang", "an"))


def _split(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial):]
    return "", syllable


def _final(final: str) -> str:
    for long, short in _FINAL_BLUR:
        if final.endswith(long):
            return final[: -len(long)] + short
    return final


@lru_cache(maxsize=65536)
def substitution_cost(a: str, b: str) -> float:
    """What hearing syllable ``b`` for ``a`` costs (0 = the same, 1 = unrelated)."""
    if a == b:
        return 0.0
    if UNKNOWN in (a, b):
        return 1.0
    (ia, fa), (ib, fb) = _split(a), _split(b)
    same_initial = _BLUR.get(ia, ia) == _BLUR.get(ib, ib)
    same_final = _final(fa) == _final(fb)
    if same_initial and same_final:
        return 0.2
    if same_final:
        return 0.5
    if same_initial:
        return 0.7
    return 1.0


def sound_alike(word: str, text: str, said: tuple[str, ...] | None = None) -> SoundAlike:
    """The span of ``text`` whose pinyin is closest to ``word``'s: score ``1 - cost / len``
    (semi-global alignment: the span may start and end anywhere; a missing or extra
    syllable costs 1). ``said`` may pass ``syllables(text)`` when it is already known."""
    want = _word_syllables(word)
    got = said if said is not None else syllables(text)
    n, m = len(want), len(got)
    if not n or not m:
        return SoundAlike(word, 0.0, 0, 0)
    cost = [0.0] * (m + 1)
    start = list(range(m + 1))
    for i in range(1, n + 1):
        prev_cost, prev_start = cost, start
        cost = [float(i)] + [0.0] * m
        start = [0] * (m + 1)
        for j in range(1, m + 1):  # ties go to the span that starts first
            cost[j], start[j] = min(
                (prev_cost[j - 1] + substitution_cost(want[i - 1], got[j - 1]), prev_start[j - 1]),
                (prev_cost[j] + 1, prev_start[j]), (cost[j - 1] + 1, start[j - 1]))
    end = min(range(m + 1), key=lambda j: cost[j])
    return SoundAlike(word, round(1 - cost[end] / n, 3), start[end], end)


@lru_cache(maxsize=4096)
def _word_syllables(word: str) -> tuple[str, ...]:
    return syllables(word)


def replacements(text: str, words: tuple[str, ...] = WORDS, *, floor: float = 0.5,
                 top: int = 8) -> list[tuple[str, SoundAlike]]:
    """Up to ``top`` versions of ``text`` with one span replaced by a vocabulary word that
    sounds like it (score ≥ ``floor``, best first; words already in ``text`` are skipped)."""
    said = syllables(text)
    found = []
    for word in dict.fromkeys(words):
        if word in text:
            continue
        match = sound_alike(word, text, said)
        if match.score >= floor and match.end > match.start:
            found.append(match)
    found.sort(key=lambda m: (-m.score, -len(m.word)))
    out: list[tuple[str, SoundAlike]] = []
    seen = {text}
    for match in found:
        variant = text[:match.start] + match.word + text[match.end:]
        if variant not in seen:
            seen.add(variant)
            out.append((variant, match))
        if len(out) >= top:
            break
    return out
