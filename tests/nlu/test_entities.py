"""Entities from transcripts, validated."""

from __future__ import annotations

from datetime import date

import pytest

from ivr.nlu.entities import extract

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("my transfer tx10001 of two hundred dollars from last friday hasn't arrived", "en-US",
     {"transaction_id": "TX10001", "amount": "200.00", "currency": "USD", "date": "2026-11-20"}),
    ("i paid $89.99 yesterday", "en-US",
     {"amount": "89.99", "currency": "USD", "date": "2026-11-24"}),
    ("transaction number one zero zero zero three", "en-US", {"transaction_id": "TX10003"}),
    ("block the card ending in four two four two", "en-US", {"card_last4": "4242"}),
    ("my new number is +1 555 987 6543", "en-US", {"phone": "+15559876543"}),
    ("我昨天转了五千块钱还没到", "zh-CN",
     {"amount": "5000.00", "currency": "CNY", "date": "2026-11-24"}),
    ("上周五的转账", "zh-CN", {"date": "2026-11-20"}),
    ("尾号8888的卡丢了", "zh-CN", {"card_last4": "8888"}),
    ("新手机号13912345678", "zh-CN", {"phone": "+8613912345678"}),
    ("i lost my card", "en-US", {}),
    ("", "en-US", {}),
    ("😀" * 3000, "zh-CN", {}),
    ("the number 12", "en-US", {}),
    ("on 2026-02-30 i paid", "en-US", {}),
])
def test_entities(text: str, lang: str, expected: dict[str, str]) -> None:
    assert extract(text, lang, TODAY) == expected
