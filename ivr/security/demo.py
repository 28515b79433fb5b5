"""Demo customers for trying verification end to end (``ivr demo seed``).

Their PINs are public (docs/verification.md): demo data, never real customers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ivr.security.customers import Card, Customer, CustomerRepository
from ivr.security.pins import PinHasher


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    customer: Customer
    pin: str | None


DEMO = (
    DemoCustomer(Customer("C1001", "Ada Lovelace", "+15551234567", "en-US",
                          (Card("411111", "4242"),), birth_date="19851210"), "2580"),
    DemoCustomer(Customer("C1002", "Li Wei", "+8613800138000", "zh-CN",
                          (Card("622202", "8888"),), birth_date="19900315"), "1357"),
    DemoCustomer(Customer("C1003", "Grace Hopper", "+15557654321", "en-US",
                          (Card("510510", "5100"), Card("411111", "1881", "blocked")),
                          birth_date="19761209"), None),
)
"""Ada has a PIN, Li Wei too (Mandarin), Grace has none: strong checks text her a code."""

SEED_HOOKS: list[str] = ["ivr.platform.seed"]
"""Modules with ``async def seed_demo(engine) -> dict`` run by ``ivr demo seed`` after the
customers exist (accounts, transactions, refunds, fees, ...)."""


async def seed(repo: CustomerRepository, pins: PinHasher) -> dict[str, list[str]]:
    """Create or refresh the demo customers; a PIN that still matches keeps its hash."""
    created: list[str] = []
    updated: list[str] = []
    for demo in DEMO:
        known = await repo.get(demo.customer.id)
        pin_hash = None
        if demo.pin is not None:
            keep = known is not None and await pins.verify(known.pin_hash, demo.pin) \
                and not pins.needs_rehash(known.pin_hash or "")
            pin_hash = known.pin_hash if keep and known else await pins.hash(demo.pin)
        await repo.save(replace(demo.customer, pin_hash=pin_hash))
        (updated if known else created).append(demo.customer.id)
    return {"created": created, "updated": updated}
