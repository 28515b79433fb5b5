"""Spoken digits and amounts (en + zh) and values said back naturally."""

from datetime import date
from decimal import Decimal

import pytest

from ivr.speech.numbers import parse_amount, parse_digits
from ivr.speech.say import render, say_amount, say_date, say_digits


@pytest.mark.parametrize(("text", "lang", "digits"), [
    ("one two three four", "en-US", "1234"),
    ("double five", "en-US", "55"),
    ("oh one two", "en-US", "012"),
    ("My number is 4, 5, 6, 7.", "en-US", "4567"),
    ("triple nine one", "en-US", "9991"),
    ("幺二三", "zh-CN", "123"),
    ("我的卡号是一二三四", "zh-CN", "1234"),
    ("hello there", "en-US", None),
    ("", "zh-CN", None),
])
def test_spoken_digits(text: str, lang: str, digits: str | None) -> None:
    assert parse_digits(text, lang) == digits


@pytest.mark.parametrize(("text", "lang", "amount"), [
    ("一百二十块五", "zh-CN", "120.5"),
    ("一百二十块零五", "zh-CN", "120.05"),
    ("三十元五角二分", "zh-CN", "30.52"),
    ("两百块", "zh-CN", "200"),
    ("one hundred twenty dollars and fifty cents", "en-US", "120.50"),
    ("$12.50", "en-US", "12.50"),
    ("twelve point five", "en-US", "12.5"),
    ("banana", "en-US", None),
])
def test_spoken_amounts(text: str, lang: str, amount: str | None) -> None:
    got = parse_amount(text, lang)
    assert got == (Decimal(amount) if amount else None)


def test_values_said_naturally() -> None:
    assert say_digits("4567890123456789", "en-US") == (
        "four five six seven, eight nine zero one, two three four five, six seven eight nine")
    assert say_digits("123", "zh-CN") == "幺二三"
    assert say_amount("120.5", "en-US") == "one hundred twenty dollars and fifty cents"
    assert say_amount("120.5", "zh-CN") == "一百二十元五角"
    assert say_date(date(2026, 11, 25), "en-US").startswith("Wednesday, November twenty-fifth")
    assert say_date(date(2026, 11, 25), "zh-CN") == "二零二六年十一月二十五日，星期三"
    assert render("Refund {a:amount}, reference {r:digits}.", {"a": "2", "r": "777"},
                  "en-US") == "Refund two dollars, reference seven seven seven."


def test_platform_codes_are_said_in_the_callers_language() -> None:
    values = {"s": "pending", "k": "top_up", "x": "on_hold"}
    assert render("{k:label} is {s:label}", values, "en-US") == "top-up is pending"
    assert render("{k:label}{s:label}", values, "zh-CN") == "充值处理中"
    assert render("{x:label}", values, "en-US") == "on hold"  # an unknown code, still words
