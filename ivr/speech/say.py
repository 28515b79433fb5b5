"""Saying values: digits in groups, amounts, dates and templates, per language.

``render("Your refund of {amount:amount} arrives on {day:date}.", {...}, "en-US")`` gives
words a TTS voice reads naturally ("one hundred twenty dollars and fifty cents",
"Wednesday, November twenty-fifth, twenty twenty-six"). Long numbers are read in groups
("four five six seven, eight nine") so callers can follow them.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

_EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
       "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
       "eighteen", "nineteen"]
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_ORD = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
           "nine": "ninth", "twelve": "twelfth"}
_ZH = "零一二三四五六七八九"
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DAYS_ZH = "一二三四五六日"
_FIELD = re.compile(r"\{(\w+)(?::(\w+))?\}")
LABELS: dict[str, tuple[str, str]] = {
    # statuses of payments, refunds and cards
    "pending": ("pending", "处理中"), "processing": ("being processed", "处理中"),
    "completed": ("completed", "已完成"), "settled": ("settled", "已结算"),
    "failed": ("failed", "失败"), "approved": ("approved", "已批准"),
    "requested": ("requested", "已受理"), "refunded": ("refunded", "已退款"),
    "rejected": ("rejected", "已拒绝"), "reversed": ("reversed", "已撤销"),
    "cancelled": ("cancelled", "已取消"), "canceled": ("cancelled", "已取消"),
    "blocked": ("blocked", "已冻结"), "active": ("active", "正常"),
    # kinds of transactions and fees
    "transfer": ("transfer", "转账"), "card": ("card payment", "刷卡消费"),
    "payment": ("payment", "付款"), "refund": ("refund", "退款"),
    "withdrawal": ("withdrawal", "取现"), "top_up": ("top-up", "充值"),
    "transfer_domestic": ("domestic transfer", "境内转账"),
    "transfer_international": ("international transfer", "境外转账"),
    "atm_withdrawal": ("ATM withdrawal", "ATM取现"), "card_abroad": ("card payment abroad",
                                                                  "境外刷卡"),
    "top_up_card": ("card top-up", "银行卡充值"),
}
"""``{name:label}``: the payment platform's codes (``pending``, ``top_up``) as words of the
caller's language (English, Mandarin); unknown codes are said with spaces for ``_``."""


def en_number(n: int) -> str:
    """Cardinal words: 120 → "one hundred twenty"."""
    if n < 0:
        return "minus " + en_number(-n)
    if n < 20:
        return _EN[n]
    if n < 100:
        return _EN_TENS[n // 10] + ("-" + _EN[n % 10] if n % 10 else "")
    for size, word in ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"),
                       (100, "hundred")):
        if n >= size:
            rest = n % size
            return f"{en_number(n // size)} {word}" + (f" {en_number(rest)}" if rest else "")
    raise AssertionError(n)


def en_ordinal(n: int) -> str:
    words = en_number(n)
    head, sep, last = words.rpartition("-") if "-" in words else words.rpartition(" ")
    if last in _EN_ORD:
        last = _EN_ORD[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def zh_number(n: int) -> str:
    """Cardinal characters: 120 → 一百二十, 3005 → 三千零五, 12 → 十二."""
    if n < 0:
        return "负" + zh_number(-n)
    if n == 0:
        return "零"
    if n >= 100_000_000:
        high, rest = divmod(n, 100_000_000)
        return zh_number(high) + "亿" + (("零" if rest < 10_000_000 else "") + zh_number(rest)
                                        if rest else "")
    if n >= 10_000:
        high, rest = divmod(n, 10_000)
        return zh_number(high) + "万" + (("零" if rest < 1000 else "") + zh_number(rest)
                                        if rest else "")
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if zero and out:
                out += "零"
            out += _ZH[digit] + unit
            zero = False
        else:
            zero = bool(out)
    return out[1:] if out.startswith("一十") else out


def say_digits(digits: str, language: str, *, group: int | None = None) -> str:
    """Digits one by one, in groups of ``group`` (default: 3 or 4 by length)."""
    digits = "".join(ch for ch in digits if ch.isdigit())
    if group is None:
        group = 4 if len(digits) % 4 == 0 or len(digits) > 9 else 3
    groups = [digits[i:i + group] for i in range(0, len(digits), group)]
    if language.startswith("zh"):  # 1 is read 幺 in numbers so it is not heard as 七
        return "，".join("".join("幺" if d == "1" else _ZH[int(d)] for d in g) for g in groups)
    return ", ".join(" ".join(_EN[int(d)] for d in g) for g in groups)


def say_amount(amount: Decimal | float | str, language: str, *, currency: str = "") -> str:
    """Money as people say it: "twelve dollars and fifty cents", "十二元五角"."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    major, minor = int(value), int(value * 100) % 100
    if language.startswith("zh"):
        jiao, fen = divmod(minor, 10)
        text = zh_number(major) + "元"
        if jiao:
            text += _ZH[jiao] + "角"
        if fen:
            text += ("零" if not jiao else "") + _ZH[fen] + "分"
        return text if minor else text + "整"
    unit = {"EUR": "euro", "GBP": "pound", "CNY": "yuan"}.get(currency, "dollar")
    plural = "" if unit == "yuan" else "s"
    words = f"{en_number(major)} {unit}{plural if major != 1 else ''}"
    if minor:
        words += f" and {en_number(minor)} cent{'s' if minor != 1 else ''}"
    return words


def say_label(code: str, language: str) -> str:
    """A platform code in words: ``say_label("pending", "zh-CN")`` → 处理中."""
    words = LABELS.get(code.strip().lower())
    if words is None:
        return code.replace("_", " ")
    return words[1] if language.startswith("zh") else words[0]


def say_date(day: date, language: str) -> str:
    """"Wednesday, November twenty-fifth, twenty twenty-six" / "2026年11月25日，星期三"
    in characters."""
    if language.startswith("zh"):
        year = "".join(_ZH[int(d)] for d in str(day.year))
        return (f"{year}年{zh_number(day.month)}月{zh_number(day.day)}日，"
                f"星期{_DAYS_ZH[day.weekday()]}")
    high, low = divmod(day.year, 100)
    year = en_number(day.year) if low == 0 or high % 10 == 0 else (
        f"{en_number(high)} {'oh ' + en_number(low) if low < 10 else en_number(low)}")
    return f"{_DAYS_EN[day.weekday()]}, {_MONTHS[day.month - 1]} {en_ordinal(day.day)}, {year}"


def say_number(n: int, language: str) -> str:
    return zh_number(n) if language.startswith("zh") else en_number(n)


def render(template: str, values: dict[str, Any], language: str) -> str:
    """Fill ``{name}`` / ``{name:kind}`` (kind: digits, amount, date, number, label) with
    values said in ``language``; unknown names are left as they are."""

    def one(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        value = values[name]
        if kind == "digits":
            return say_digits(str(value), language)
        if kind == "amount":
            return say_amount(value, language)
        if kind == "date":
            return say_date(value if isinstance(value, date) else date.fromisoformat(str(value)),
                            language)
        if kind == "number":
            return say_number(int(value), language)
        if kind == "label":
            return say_label(str(value), language)
        return str(value)

    return _FIELD.sub(one, template)
