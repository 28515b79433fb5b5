"""Entities in a transcript: transaction id, amount and currency, a date, card last four,
a phone number. Pure; every value is validated before it is returned.

Values are plain strings ready for call variables: ``transaction_id`` ``TX10001``, ``amount``
``200.00`` with ``currency`` ``USD``, ``date`` ``2026-11-20`` (ISO), ``card_last4`` ``4242``,
``phone`` in E.164. Nothing here stores or logs them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from ivr.speech.numbers import parse_amount, parse_digits

_TX = re.compile(r"\b(tx|rf|t x|r f)[\s-]*(\d{4,10})\b")
_TX_SPOKEN = re.compile(r"\b(?:transaction|reference|transfer|refund)(?: id| number| no)?"
                        r"((?: (?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d))+)")
_CURRENCY = {"$": "USD", "dollar": "USD", "dollars": "USD", "usd": "USD", "bucks": "USD",
             "€": "EUR", "euro": "EUR", "euros": "EUR", "eur": "EUR", "£": "GBP",
             "pound": "GBP", "pounds": "GBP", "gbp": "GBP", "yuan": "CNY", "rmb": "CNY",
             "cny": "CNY", "¥": "CNY", "元": "CNY", "块": "CNY", "块钱": "CNY",
             "人民币": "CNY", "美元": "USD", "美金": "USD", "欧元": "EUR", "英镑": "GBP"}
_NUMWORD = (r"(?:\d+(?:\.\d{1,2})?|zero|one|two|three|four|five|six|seven|eight|nine|ten|"
            r"eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|"
            r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|and|a)")
_EN_AMOUNT = re.compile(rf"(?P<sym>[$€£¥])?\s*(?P<num>{_NUMWORD}(?:[\s-]+{_NUMWORD})*)\s*"
                        r"(?P<cur>dollars?|usd|bucks|euros?|eur|pounds?|gbp|yuan|rmb|cny)?\b")
_ZH_AMOUNT = re.compile(r"(?P<num>[\d.]+|[零一二两三四五六七八九十百千万点]+)"
                        r"(?P<cur>块钱|块|元|人民币|美元|美金|欧元|英镑)")
_LAST4 = re.compile(r"(?:ending(?: in| with)?|last (?:four|4)(?: digits)?(?: are| is)?|"
                    r"尾号(?:是)?|后四位(?:是)?)\s*((?:(?:zero|oh|one|two|three|four|five|six|"
                    r"seven|eight|nine|[0-9零一二三四五六七八九幺两])\s*){4})")
_PHONE = re.compile(r"\+?(?<!\d)\d[\d -]{6,18}\d(?!\d)")
_DAYS_EN = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DAYS_ZH = "一二三四五六日"
_ZH_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}


def extract(text: str, language: str, today: date | None = None) -> dict[str, str]:
    """Every entity found in ``text`` (a cleaned or raw transcript)."""
    today = today or date.today()
    said = (text or "")[:400].lower()
    out: dict[str, str] = {}
    if tx := transaction_id(said, language):
        out["transaction_id"] = tx
    if last4 := card_last4(said, language):
        out["card_last4"] = last4
    found = amount(said, language)
    if found is not None:
        out["amount"], out["currency"] = found
    if day := spoken_date(said, today):
        out["date"] = day.isoformat()
    if phone := phone_number(said, language):
        out["phone"] = phone
    return out


def transaction_id(said: str, language: str) -> str | None:
    m = _TX.search(said)
    if m:
        return ("RF" if m.group(1).replace(" ", "") == "rf" else "TX") + m.group(2)
    m = _TX_SPOKEN.search(said)
    if m:
        digits = parse_digits(m.group(1), language) or ""
        if 4 <= len(digits) <= 10:
            return "TX" + digits
    return None


def card_last4(said: str, language: str) -> str | None:
    m = _LAST4.search(said)
    if not m:
        return None
    digits = parse_digits(m.group(1).replace("幺", "一"), language) or re.sub(r"\D", "",
                                                                            m.group(1))
    return digits if len(digits) == 4 and digits.isdigit() else None


def amount(said: str, language: str) -> tuple[str, str] | None:
    """(amount, currency) when a number comes with a currency; never a bare number."""
    for m in _ZH_AMOUNT.finditer(said):
        value = parse_amount(m.group("num"), "zh-CN")
        if value is not None and 0 < value < 10**9:
            return f"{value:.2f}", _CURRENCY[m.group("cur")]
    for m in _EN_AMOUNT.finditer(said):
        cue = m.group("sym") or m.group("cur")
        if not cue:
            continue
        words = re.sub(r"^(?:and|a)\s+", "", m.group("num").strip())
        value = _number(words)
        if value is not None and 0 < value < 10**9:
            return f"{value:.2f}", _CURRENCY[cue]
    return None


def _number(words: str) -> Decimal | None:
    if re.fullmatch(r"\d+(?:\.\d{1,2})?", words):
        return Decimal(words)
    return parse_amount(words, "en-US")


def spoken_date(said: str, today: date) -> date | None:
    """today / yesterday / N days ago / last friday / on monday / 2026-11-20 / 昨天 / 上周五."""
    if m := re.search(r"\b(20\d\d)-(\d\d)-(\d\d)\b", said):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    simple = {"today": 0, "yesterday": 1, "今天": 0, "昨天": 1, "前天": 2, "大前天": 3}
    for word, back in sorted(simple.items(), key=lambda kv: -len(kv[0])):
        if word in said:
            return today - timedelta(days=back)
    if m := re.search(r"\b(\d+|two|three|four|five|six|seven) days ago\b", said):
        n = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}.get(m.group(1))
        return today - timedelta(days=n or int(m.group(1)))
    if m := re.search(r"\b(last|on|this past)\s+(" + "|".join(_DAYS_EN) + r")\b", said):
        return _previous(today, _DAYS_EN.index(m.group(2)))
    if m := re.search(r"(上个?(?:星期|周|礼拜))([一二三四五六日天])", said):
        weekday = _DAYS_ZH.index(m.group(2).replace("天", "日"))
        monday = today - timedelta(days=today.weekday() + 7)
        return monday + timedelta(days=weekday)
    if m := re.search(r"(?:星期|周|礼拜)([一二三四五六日天])", said):
        return _previous(today, _DAYS_ZH.index(m.group(1).replace("天", "日")))
    return None


def _previous(today: date, weekday: int) -> date:
    """The most recent ``weekday`` before today ("last friday" on a Saturday is yesterday)."""
    back = (today.weekday() - weekday) % 7 or 7
    return today - timedelta(days=back)


def phone_number(said: str, language: str) -> str | None:
    from ivr.security.phones import normalise

    for m in _PHONE.finditer(said):
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if not 8 <= len(digits) <= 15:
            continue
        region = "CN" if language.startswith("zh") else "US"
        phone = normalise(raw, region)
        if phone:
            return phone
    spoken = parse_digits(said, language) if re.search(r"\b(number|phone|mobile)\b|号码|手机",
                                                      said) else None
    if spoken and 8 <= len(spoken) <= 15:
        return normalise(spoken, "CN" if language.startswith("zh") else "US")
    return None
