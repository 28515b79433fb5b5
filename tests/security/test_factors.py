"""Factors and helpers on their own: masking, phone numbers, PIN hashing at the shipped
cost, one-time codes on real databases, risk rules, and the SMS gateway sink."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from ivr.security.masking import abbreviate_name, mask_card, mask_phone
from ivr.security.notifier import HttpSmsNotifier, NotifyError, OtpMessage
from ivr.security.otp import OtpStore
from ivr.security.phones import normalise
from ivr.security.pins import PinHasher
from ivr.security.risk import RiskFacts, evaluate
from ivr.security.settings import OtpSettings, PinSettings, default_risk_rules
from ivr.store.db import make_engine

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_masking_shows_at_most_first_six_last_four_and_last_four() -> None:
    assert mask_card("4111 1111 1111 4242") == "411111******4242"
    assert mask_card("4242") == "****"
    assert mask_phone("+15551234567") == "***4567"
    assert mask_phone(None) == "-"
    assert abbreviate_name("Ada King Lovelace") == "Ada K. L."
    assert abbreviate_name("Cher") == "C."


def test_caller_ids_normalise_to_e164_and_withheld_is_nobody() -> None:
    assert normalise("(555) 123-4567") == "+15551234567"
    assert normalise("+86 138 0013 8000") == "+8613800138000"
    assert normalise("13800138000", "CN") == "+8613800138000"
    for hidden in ("", None, "anonymous", "Unknown", "Restricted", "*#*#", "12", "9" * 40):
        assert normalise(hidden) is None


async def test_pin_hash_is_argon2id_salted_per_customer_and_off_the_loop() -> None:
    pins = PinHasher(PinSettings())
    a, b = await asyncio.gather(pins.hash("2580"), pins.hash("2580"))
    assert a.startswith("$argon2id$v=19$m=65536,t=3,p=1$") and a != b  # fresh salt each
    assert await pins.verify(a, "2580") and not await pins.verify(a, "2581")
    assert not await pins.verify(None, "2580")  # no PIN set: same cost, always no
    # Over-long or non-digit input never reaches the KDF.
    started = time.perf_counter()
    assert not await pins.verify(a, "1" * 5000) and not await pins.verify(a, "*#*#")
    assert time.perf_counter() - started < 0.01
    # The loop keeps running while a check works (ticks happen during the KDF).
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await pins.verify(a, "2580")
    task.cancel()
    assert ticks >= 5
    with pytest.raises(ValueError):
        pins.hash_now("12")


async def test_codes_expire_and_work_once_even_when_raced(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        store = OtpStore(engine, OtpSettings())
        issued = await store.issue("C1", now=NOW, call_id=None)
        assert len(issued.code) == 6 and issued.code.isdigit()
        wrong = "0" * 6 if issued.code != "000000" else "1" * 6
        assert await store.redeem("C1", wrong, now=NOW) == "wrong"
        results = await asyncio.gather(*(store.redeem("C1", issued.code, now=NOW)
                                         for _ in range(5)))
        assert sorted(results) == ["none"] * 4 + ["ok"]
        late = await store.issue("C1", now=NOW, call_id=None)
        assert await store.redeem("C1", late.code, now=NOW + timedelta(minutes=5)) == "expired"
        # A newer code retires the older one.
        first = await store.issue("C1", now=NOW, call_id=None)
        await store.issue("C1", now=NOW, call_id=None)
        assert await store.redeem("C1", first.code, now=NOW) in ("wrong", "none")
    finally:
        await engine.dispose()


def test_risk_rules_name_every_rule_that_fired() -> None:
    rules = default_risk_rules()
    calm = RiskFacts(now=NOW, last_change=NOW - timedelta(days=90), attempts=[NOW],
                     caller_matches=True, last_lockout=None)
    assert not evaluate("change_phone", rules, calm).review
    busy = RiskFacts(now=NOW, last_change=NOW - timedelta(days=3),
                     attempts=[NOW - timedelta(hours=h) for h in (1, 2)] + [NOW],
                     caller_matches=False, last_lockout=NOW - timedelta(hours=2))
    decision = evaluate("change_phone", rules, busy)
    assert decision.fired == ("phone.recent_change", "phone.many_attempts",
                              "phone.caller_mismatch", "phone.recent_lockout")
    assert len(decision.reasons) == 4
    assert not evaluate("other_action", rules, busy).review


def message() -> OtpMessage:
    return OtpMessage("C1", "+15551234567", "code 123456", NOW, 1, NOW)


async def test_sms_gateway_sink_times_out_and_keeps_no_code(db_url: str, tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.5)
        return web.Response()

    async def ok(request: web.Request) -> web.Response:
        seen.append(await request.json())
        return web.json_response({"id": "m1"}, status=202)

    app = web.Application()
    app.router.add_post("/slow", slow)
    app.router.add_post("/ok", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    engine = make_engine(db_url)
    try:
        base = f"http://127.0.0.1:{port}"
        good = HttpSmsNotifier(engine, base + "/ok", token="t", sender="Acme", timeout=2)
        await good.send(message())
        assert seen == [{"to": "+15551234567", "from": "Acme", "text": "code 123456"}]
        slowpoke = HttpSmsNotifier(engine, base + "/slow", token=None, sender="Acme",
                                   timeout=0.3)
        started = time.monotonic()
        with pytest.raises(NotifyError) as err:
            await slowpoke.send(message())
        assert err.value.code == "notify-timeout" and time.monotonic() - started < 2
        from sqlalchemy import select

        from ivr.store.models import OtpOutboxRow
        async with engine.connect() as conn:
            rows = (await conn.execute(select(OtpOutboxRow.status, OtpOutboxRow.body))).all()
        assert sorted(r.status for r in rows) == ["sent", "timeout"]
        assert all(r.body is None for r in rows)
    finally:
        await engine.dispose()
        await runner.cleanup()
