"""End to end over FastAGI (the recorded-Asterisk peer against `ivr serve`'s server), then a
search of everything Hotline wrote for the digits callers keyed: logs, call events, audit
rows, the recording pause and the CLI's JSON. Only the stand-in phone (outbox) holds codes."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from security_harness import ROOT

from ivr.app import Hotline
from ivr.audit import AuditLog
from ivr.security.customers import CustomerRepository
from ivr.security.demo import seed
from ivr.security.pins import PinHasher
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript

ADA_PIN, WRONG_PIN, NEW_PHONE = "2580", "917364", "15559876543"
STAMP = re.compile(r"\d{4}-\d\d-\d\d[T ][\d:.]+(\+00:00|Z)?|\"(at|seconds|until)\": [^,}]+"
                   r"|\b(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b")


def scrub(text: str) -> str:
    """Timestamps, durations and random hex ids (a turn's file name) may contain any digits
    by chance; nothing else may."""
    return STAMP.sub("", text)


@pytest.fixture
def settings(hotline_settings: Any) -> Any:
    return hotline_settings


async def test_verify_over_fastagi_and_no_secret_anywhere(
        settings: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    app = Hotline(settings)
    await seed(CustomerRepository(app.engine), PinHasher(settings.security.pin))
    async with app.running():
        assert app.agi_address is not None
        host, port = app.agi_address

        async def call(*steps: str | None, callerid: str = "+15551234567") -> Any:
            return await run_call(host, port, script_actions=CallerScript.of(*steps),
                                  sounds_root=settings.sounds_dir, idle_timeout=15,
                                  callerid=callerid)

        # Wrong PIN, then the right one, then a new phone: changed in self-service.
        changed = await call("1", "5", "2", "4242", WRONG_PIN + "#", ADA_PIN + "#",
                             NEW_PHONE + "#", "1")
        # Grace has no PIN: a code goes to her phone (the outbox); she hangs up instead.
        texted = await call("1", "5", "2", "5100", None, "hangup", callerid="+15557654321")
        # A withheld number is never enough: straight to an agent.
        withheld = await call("1", "5", "1", callerid="")
        assert await app.writer.wait_idle(5)
        calls = await app.calls.recent(limit=10)
        events = [e for c in calls for e in await app.calls.events(c.id)]
        audit = await AuditLog(app.engine).list(limit=500)
    assert changed.variables["IVR_OUTCOME"] == "self_served"
    assert texted.hung_up
    assert withheld.variables["IVR_QUEUE"] == "customer_service"
    ada = await_customer(settings, "C1001")
    assert ada["phone"] == "***6543"
    kinds = [e.kind for e in events]
    assert "verify_result" in kinds and "otp_sent" in kinds and "risk_decision" in kinds
    # The code Grace was sent, read off the stand-in phone.
    body = json.loads((settings.var_dir / "otp-outbox.log").read_text().splitlines()[-1])["body"]
    code = re.search(r"code is (\d{6})", body).group(1)  # type: ignore[union-attr]
    cli = [cli_json(settings, *args) for args in (
        ("customers", "show", "C1001"), ("customers", "show", "C1003"), ("audit", "list"),
        ("calls", "list"), ("otp", "outbox"), ("demo", "seed"))]
    cli += [cli_json(settings, "calls", "show", c.id) for c in calls]
    haystacks = {
        "logs": caplog.text,
        "events": json.dumps([[e.kind, e.node, e.data] for e in events]),
        "audit": json.dumps([[a.actor, a.action, a.subject, a.reason, a.details] for a in audit],
                            default=str),
        "cli --json": "\n".join(cli),
    }
    for where, text in haystacks.items():
        clean = scrub(text)
        for secret in (ADA_PIN, WRONG_PIN, code, NEW_PHONE):
            assert secret not in clean, f"{secret} found in {where}"
        assert "argon2" not in clean, f"a PIN hash leaked into {where}"
    assert "otp_sent" in haystacks["events"] and "***4321" in haystacks["events"]
    # The stand-in phone shows the code to a person reading it, and in JSON only on request.
    assert code in human_outbox(settings)
    assert code in cli_json(settings, "otp", "outbox", "--reveal")


def human_outbox(settings: Any) -> str:
    return subprocess.run([sys.executable, "-m", "ivr", "--data-dir", str(settings.data_dir),
                           "otp", "outbox"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120).stdout


def await_customer(settings: Any, customer_id: str) -> Any:
    return json.loads(cli_json(settings, "customers", "show", customer_id).split("\n\x00")[0])


def cli_json(settings: Any, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "ivr", "--data-dir", str(settings.data_dir),
                           *args, "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "IVR_LOG_LEVEL": "DEBUG"})
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
    # stderr is the CLI's log too: it must not hold secrets either.
    return proc.stdout + "\n\x00" + proc.stderr
