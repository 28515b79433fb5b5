"""bounded_data's shortcut for small event data (it skips measuring them as JSON) keeps
the result of the full check, and the worst small dict still fits MAX_DATA_BYTES."""

from __future__ import annotations

import json

from ivr.store.clean import _SMALL_INT, _SMALL_ITEMS, _SMALL_TEXT, MAX_DATA_BYTES, bounded_data


def test_the_worst_small_dict_fits() -> None:
    # Control characters are escaped (\\u0001: 6 characters each) where they survive cleaning.
    worst = {("\x01" * 64 + str(i))[-64:]: "\x01" * _SMALL_TEXT for i in range(_SMALL_ITEMS - 2)}
    worst |= {"a" * 64: -(_SMALL_INT - 1), "b" * 64: -1.7976931348623157e308}
    assert len(json.dumps(worst, ensure_ascii=False)) <= MAX_DATA_BYTES


def test_small_and_large_data() -> None:
    small = {"node": "main_menu", "digits": "0", "attempt": 1, "confidence": 0.93, "ok": None}
    assert bounded_data(small) == small
    assert bounded_data({"n": 10**30}) == {"n": 10**30}  # past the shortcut: measured, fits
    many = {f"k{i}": "x" * 3000 for i in range(40)}
    assert bounded_data(many)["truncated"] is True
