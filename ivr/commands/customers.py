"""``ivr customers add|show|unlock``, ``ivr demo seed`` and ``ivr otp outbox``.

Nothing here prints a PIN or a PIN hash; ``otp outbox`` is the embedded stand-in for the
customer's phone, so its human output shows codes, while ``--json`` masks them unless
``--reveal`` is given. Every command that touches customers leaves an audit row.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.audit import AuditEntry, AuditLog, cli_actor
from ivr.commands import HELP
from ivr.config import Settings
from ivr.errors import IvrError
from ivr.security.customers import Card, Customer, CustomerRepository
from ivr.security.demo import DEMO, SEED_HOOKS, seed
from ivr.security.lockout import AttemptCounter
from ivr.security.masking import mask_phone
from ivr.security.phones import normalise
from ivr.security.pins import PinHasher
from ivr.store.models import OtpOutboxRow
from ivr.textsafe import printable

Console = Any  # ivr.cli.Console (not imported: ivr.cli imports this module)


class UsageError(IvrError):
    """Bad input on the command line (exit code 2)."""

    area = "config"


def _run(settings: Settings, work: Callable[[AsyncEngine], Coroutine[Any, Any, int]]) -> int:
    from ivr.store.db import make_engine

    async def go() -> int:
        engine = make_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def _audit(engine: AsyncEngine, action: str, subject: str | None, **details: Any) -> None:
    await AuditLog(engine).append(AuditEntry(actor=cli_actor(), action=action, outcome="ok",
                                             subject=subject, channel="cli", details=details))


def _read_pin(args: argparse.Namespace) -> str | None:
    """From stdin (``--pin-stdin``) or asked twice without echo; never from argv."""
    if args.pin_stdin:
        return sys.stdin.readline().strip()
    if not args.set_pin:
        return None
    first = getpass.getpass("New PIN: ")
    if getpass.getpass("Again: ") != first:
        raise UsageError("config-pin-mismatch", "the two PINs differ")
    return first


def _card(text: str) -> Card:
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) != 10 and not 13 <= len(digits) <= 19:
        raise UsageError("config-bad-card", "--card takes a card number (13-19 digits) or "
                         "first six + last four (10 digits); only those 10 digits are kept")
    return Card(digits[:6], digits[-4:])


def cmd_customers_add(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    phone = normalise(args.phone, settings.security.default_region)
    if phone is None:
        raise UsageError("config-bad-phone", f"not a phone number: {mask_phone(args.phone)}")
    birth = args.birth_date.replace("-", "") if args.birth_date else None
    if birth is not None and not (birth.isdigit() and len(birth) == 8):
        raise UsageError("config-bad-date", "--birth-date is YYYY-MM-DD or YYYYMMDD")
    cards = tuple(_card(c) for c in args.card or [])
    pin = _read_pin(args)
    pins = PinHasher(settings.security.pin)
    if pin is not None and not pins.acceptable(pin):
        p = settings.security.pin
        raise UsageError("config-bad-pin", f"a PIN is {p.min_length} to {p.max_length} digits")

    async def work(engine: AsyncEngine) -> int:
        repo = CustomerRepository(engine)
        known = await repo.get(args.id)
        pin_hash = await pins.hash(pin) if pin is not None else (known.pin_hash if known else None)
        customer = Customer(args.id, args.name, phone, args.language,
                            cards or (known.cards if known else ()), pin_hash,
                            birth or (known.birth_date if known else None))
        await repo.save(customer)
        await _audit(engine, "customer.update" if known else "customer.add", args.id,
                     pin_set=pin is not None, cards=len(customer.cards))
        out.result(customer.public(), f"{'updated' if known else 'added'} customer {args.id}")
        return 0

    return _run(settings, work)


def cmd_customers_show(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    async def work(engine: AsyncEngine) -> int:
        repo = CustomerRepository(engine)
        customer = await repo.get(args.id)
        if customer is None:
            out.say(f"no customer {args.id}")
            out.result({"error": {"code": "customer-unknown", "message": f"no customer {args.id}"}})
            return 1
        now = datetime.now(UTC)
        locked = await AttemptCounter(engine).locked(customer.id, now)
        changes = await repo.phone_changes(customer.id, limit=10)
        doc = {**customer.public(),
               "locked": {f: t.isoformat() for f, t in locked.items()},
               "phone_changes": [{"at": c.at.isoformat(), "status": c.status,
                                  "new_phone": mask_phone(c.new_phone),
                                  "rules_fired": c.rules_fired, "reasons": c.reasons,
                                  "call_id": c.call_id} for c in changes]}
        await _audit(engine, "customer.show", customer.id)
        lines = [f"{printable(doc['id'])}  {printable(doc['name'])}  phone {doc['phone']}  "
                 f"{printable(doc['language'])}  "
                 f"PIN {'set' if customer.has_pin else 'not set'}"]
        lines += [f"  card {c['card']} ({c['status']})" for c in doc["cards"]]
        lines += [f"  locked: {f} until {t}" for f, t in doc["locked"].items()]
        lines += [f"  phone change {c['at']}: {c['status']} -> {c['new_phone']}"
                  + (f" ({printable('; '.join(c['reasons']))})" if c["reasons"] else "")
                  for c in doc["phone_changes"]]
        out.result(doc, "\n".join(lines))
        return 0

    return _run(settings, work)


def cmd_customers_unlock(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    async def work(engine: AsyncEngine) -> int:
        cleared = await AttemptCounter(engine).clear(args.id)
        await _audit(engine, "verify.unlock", args.id, counters=cleared)
        out.result({"id": args.id, "counters_cleared": cleared},
                   f"cleared {cleared} counter(s) of {args.id}")
        return 0

    return _run(settings, work)


def cmd_demo_seed(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    async def work(engine: AsyncEngine) -> int:
        result = await seed(CustomerRepository(engine), PinHasher(settings.security.pin))
        await _audit(engine, "demo.seed", None, created=result["created"],
                     updated=result["updated"])
        extra = {hook: await importlib.import_module(hook).seed_demo(engine)
                 for hook in SEED_HOOKS}
        lines = [f"  {d.customer.id}  {d.customer.name:<14} calls from {d.customer.phone}  "
                 f"card ****{d.customer.cards[0].last4}  "
                 f"{'has a PIN' if d.pin else 'no PIN (gets a code by text)'}" for d in DEMO]
        out.say("demo customers ready (PINs: docs/verification.md):\n" + "\n".join(lines))
        out.result({"customers": [d.customer.public() for d in DEMO], **result,
                    "hooks": extra})
        return 0

    return _run(settings, work)


def cmd_otp_outbox(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    async def work(engine: AsyncEngine) -> int:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(OtpOutboxRow).order_by(OtpOutboxRow.id.desc())
                                       .limit(args.limit))).all()
        now = datetime.now(UTC)
        shown = args.reveal or not out.as_json
        items: list[dict[str, Any]] = []
        for r in rows:
            expires = r.expires_at if r.expires_at.tzinfo else r.expires_at.replace(tzinfo=UTC)
            items.append({"id": r.id, "at": r.at.isoformat(), "customer_id": r.customer_id,
                          "to": mask_phone(r.phone), "sink": r.sink, "status": r.status,
                          "expired": expires <= now,
                          "body": (r.body if shown else "(hidden; --reveal)") if r.body else None})
        await _audit(engine, "otp.outbox.read", None, rows=len(items), revealed=shown)
        human = "\n".join(f"{i['at'][:19]}  {printable(i['customer_id']):<8} {i['to']}  "
                          f"{'expired' if i['expired'] else 'live':<7} "
                          f"{printable(i['body'] or i['status'])}"
                          for i in items)
        out.result({"messages": items}, human or "the outbox is empty")
        return 0

    return _run(settings, work)


def register(sub: Any, add_command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this module's commands to ``ivr``."""
    customers = sub.add_parser("customers", help=HELP["customers"])
    cs = customers.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = add_command(cs, "add", cmd_customers_add, "add or update a customer")
    add.add_argument("id", metavar="ID")
    add.add_argument("--name", required=True)
    add.add_argument("--phone", required=True, help="registered phone (E.164, +15551234567)")
    add.add_argument("--language", default="en-US")
    add.add_argument("--card", action="append", help="card number or first6+last4 (repeatable)")
    add.add_argument("--birth-date", help="YYYY-MM-DD")
    add.add_argument("--set-pin", action="store_true", help="ask for a PIN (no echo)")
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    show = add_command(cs, "show", cmd_customers_show, "a customer, masked, with lockouts")
    show.add_argument("id", metavar="ID")
    unlock = add_command(cs, "unlock", cmd_customers_unlock,
                         "lift every lockout of a customer (audited)")
    unlock.add_argument("id", metavar="ID")

    demo = sub.add_parser("demo", help=HELP["demo"])
    ds = demo.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_command(ds, "seed", cmd_demo_seed, "create or refresh the demo customers (idempotent)")

    otp = sub.add_parser("otp", help=HELP["otp"])
    os_ = otp.add_subparsers(dest="action", metavar="ACTION", required=True)
    box = add_command(os_, "outbox", cmd_otp_outbox,
                      "codes the embedded notifier sent (the stand-in for the phone)")
    box.add_argument("--limit", type=int, default=20)
    box.add_argument("--reveal", action="store_true", help="show codes in --json output too")
