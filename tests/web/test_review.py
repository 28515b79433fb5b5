"""Phone-change review (reviewer role): changes the risk rules held back, approved or
rejected; the customer's phone changes only on approval; each decision is audited."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from ivr.security.api import VerifyContext
from ivr.security.customers import CustomerRepository
from ivr.security.demo import seed
from ivr.security.pins import PinHasher
from ivr.security.settings import SecuritySettings
from ivr.security.wiring import make_verifier
from ivr.testing.web_harness import WebServer, login


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def held_back(server: WebServer, tmp_path: Path) -> list[int]:
    """Ada and Grace each ask for a new phone from a number that is not theirs: the
    caller-mismatch rule sends both changes to review."""
    settings = SecuritySettings()
    await seed(CustomerRepository(server.engine), PinHasher(settings.pin))
    verifier = make_verifier(settings, server.engine, tmp_path)
    ids = []
    for customer, new in (("C1001", "15550001111"), ("C1003", "15550002222")):
        ctx = VerifyContext(call_id=f"call-{customer}", channel="agi", caller="+15559990000")
        result = await verifier.change_phone(ctx, customer, new)
        assert result.outcome == "review" and "phone.caller_mismatch" in result.rules_fired
        ids.append((await verifier.customers.phone_changes(customer))[0].id)
    return ids


async def test_reviewer_approves_one_change_and_rejects_another(server: WebServer,
                                                                tmp_path: Path) -> None:
    ada_change, grace_change = await held_back(server, tmp_path)
    customers = CustomerRepository(server.engine)
    async with client() as http:
        landed = await login(http, server.base, "rita")
        assert landed.path == "/review"
        assert "phone.caller_mismatch" in landed.html and "***1111" in landed.html
        assert "15550001111" not in landed.html  # numbers are masked to their last 4
        async with http.post(f"{server.base}/review/{ada_change}",
                             data={"csrf": landed.csrf, "decision": "approve",
                                   "note": "called back on the old number"}) as resp:
            assert resp.status == 200
            assert "Approved" in await resp.text()
        async with http.post(f"{server.base}/review/{grace_change}",
                             data={"csrf": landed.csrf, "decision": "reject"}) as resp:
            assert resp.status == 200
        # Decided once: a second decision (a colleague's stale page) is refused.
        async with http.post(f"{server.base}/review/{grace_change}",
                             data={"csrf": landed.csrf, "decision": "approve"}) as resp:
            assert resp.status == 409 and "already decided" in await resp.text()
        async with http.post(f"{server.base}/review/{ada_change}",
                             data={"decision": "reject"}) as resp:
            assert resp.status == 403  # no CSRF token
    ada, grace = await customers.get("C1001"), await customers.get("C1003")
    assert ada is not None and grace is not None
    assert (ada.phone, grace.phone) == ("+15550001111", "+15557654321")
    statuses = {c.id: c.status for cid in ("C1001", "C1003")
                for c in await customers.phone_changes(cid)}
    assert statuses == {ada_change: "applied", grace_change: "rejected"}
    rows = await server.audit.list(action="phone.review")
    assert [(r.actor, r.subject, r.outcome) for r in reversed(rows)] == [
        ("web:rita", "C1001", "approved"), ("web:rita", "C1003", "rejected"),
        ("web:rita", f"change:{grace_change}", "refused")]
    assert rows[-1].reason == "called back on the old number"
    assert rows[-1].details["rules_fired"] == ["phone.caller_mismatch"]


async def test_only_reviewers_decide(server: WebServer, tmp_path: Path) -> None:
    change, _ = await held_back(server, tmp_path)
    for name in ("ada", "sam", "otto"):
        async with client() as http:
            landed = await login(http, server.base, name)
            async with http.get(f"{server.base}/review") as resp:
                assert resp.status == 403
            async with http.post(f"{server.base}/review/{change}",
                                 data={"csrf": landed.csrf, "decision": "approve"}) as resp:
                assert resp.status == 403
    ada = await CustomerRepository(server.engine).get("C1001")
    assert ada is not None and ada.phone == "+15551234567"


def test_ivr_users_adds_a_reviewer(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]

    def ivr(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ivr", "--data-dir", str(tmp_path), *args],
                              cwd=root, input=stdin, capture_output=True, text=True,
                              timeout=120, env=dict(os.environ), check=False)

    added = ivr("users", "add", "rita", "--role", "reviewer", "--password-stdin", "--json",
                stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    assert (json.loads(added.stdout)["name"], json.loads(added.stdout)["role"]) == (
        "rita", "reviewer")
