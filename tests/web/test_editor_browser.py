"""The admin's dialplan editor and the reviewer's phone-change queue in headless Chromium
(Debian's ``chromium``, driven by Playwright), against a whole Hotline: the admin's publish
is used by the next call placed through the real FastAGI server."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.app import Hotline
from ivr.audit import AuditLog
from ivr.security.api import VerifyContext
from ivr.security.customers import CustomerRepository
from ivr.security.demo import seed
from ivr.security.pins import PinHasher
from ivr.security.settings import SecuritySettings
from ivr.security.wiring import make_verifier
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings
from ivr.testing.web_harness import PASSWORD, WebServer
from ivr.web.users import UserRepository

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("IVR_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(os.environ["IVR_TEST_SCREENSHOTS"]) if os.environ.get(
    "IVR_TEST_SCREENSHOTS") else None
"""Set it (e.g. to docs/screenshots) to save the pages as PNG."""
OLD = 'en-US: "Welcome to Acme Pay. This call may be recorded."'
NEW = 'en-US: "Welcome to Acme Pay, edited in the browser. This call may be recorded."'
BROKEN = 'en-US: ["Welcome to Acme Pay, edited in the browser."]'

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM),
                                reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def hotline(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> AsyncIterator[Hotline]:
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir))
    async with app.running():
        await UserRepository(app.engine).add("ada", "admin", PASSWORD)
        yield app


async def sign_in(browser: object, base: str, name: str) -> object:
    page = await browser.new_page(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    page.set_default_timeout(60000)  # 2 shared cores: a busy machine, not a slow page
    await page.goto(f"{base}/login")
    await page.get_by_label("User name").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    return page


async def shot(page: object, name: str, **kwargs: object) -> None:
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / name), **kwargs)  # type: ignore[attr-defined]


async def test_admin_edits_simulates_publishes_and_the_next_call_uses_it(
        browser: object, hotline: Hotline) -> None:
    assert hotline.http_address is not None and hotline.agi_address is not None
    host, port = hotline.http_address
    base = f"http://{host}:{port}"
    expect = playwright_api.expect
    expect.set_options(timeout=20000)
    page = await sign_in(browser, base, "ada")
    await page.get_by_role("link", name="Dialplans").click()
    await page.get_by_role("link", name="Edit").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Edit hotline")
    status = page.locator("#check-status")
    await expect(status).to_contain_text("No problems")

    # A prompt turned into a list: the check names the line, in the gutter and the list.
    editor = page.get_by_label("Dialplan YAML")
    source = await editor.input_value()
    line = source.splitlines().index("      " + OLD) + 1
    await editor.fill(source.replace(OLD, BROKEN, 1))
    await expect(status).to_contain_text("problem")
    problem = page.locator("#problems li").first
    await expect(problem).to_contain_text(f"hotline.yaml:{line}:")
    await expect(page.locator(f'#gutter div[data-line="{line}"]')).to_have_class("bad")
    await expect(page.get_by_role("button", name="Publish")).to_be_disabled()
    await problem.get_by_role("link").click()  # selects the line in the editor
    await shot(page, "editor.png")

    await editor.fill(source.replace(OLD, NEW, 1))
    await expect(status).to_contain_text("No problems")
    await expect(page.locator("#diff")).to_contain_text("+      " + NEW)
    assert await page.locator('#gutter div.bad').count() == 0

    # The simulator walks the edited text: English, "I lost my card" in words (the server's
    # intent model), the card's last 4 digits (a secret: never echoed), yes, nothing else, and
    # 5 in the survey.
    await page.get_by_label("Caller inputs").fill("1\nI lost my card\n4242\n1\n1\n5")
    await page.get_by_role("button", name="Simulate").click()
    path = page.locator("#path")
    # The first simulation prepares the demo sandbox (schema and demo customers): slow on CI.
    await expect(path).to_contain_text("Outcome", timeout=90000)
    text = await path.inner_text()
    assert "edited in the browser" in text and "欢迎致电Acme支付" in text
    assert 'says "I lost my card"' in text and "intent=card_lost" in text
    await expect(path.locator('li[data-node="verify_for_block"]')).to_contain_text("keys ••••")
    assert "keys 4242" not in text
    await expect(path.locator('li[data-node="block_card"]')).to_contain_text(
        "action=block_card, outcome=ok")
    await expect(path.locator("li.end")).to_contain_text("self_served")
    if SCREENSHOTS is not None:  # the simulator card only: a small file
        await path.locator("xpath=..").screenshot(path=str(SCREENSHOTS / "simulator.png"))

    await page.get_by_label("Publish note").fill("greeting says edited")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator("#publish-status")).to_contain_text("Published v2")
    await expect(page.locator("p.note")).to_contain_text("Published v2", timeout=10000)
    entries = await AuditLog(hotline.engine).list(action="dialplan.publish")
    assert [(e.actor, e.outcome, e.details.get("version")) for e in entries] == [
        ("web:ada", "ok", 2)]

    for _ in range(100):  # the server picks the new version up within a poll (0.1 s here)
        live = hotline.registry.get("hotline")
        if live is not None and live.version == 2:
            break
        await asyncio.sleep(0.1)
    host, port = hotline.agi_address
    result = await run_call(host, port, script_actions=CallerScript.of("1", "hangup"),
                            sounds_root=hotline.settings.sounds_dir, idle_timeout=20)
    assert result.commands[0] == "ANSWER"
    assert await hotline.writer.wait_idle(5)
    row = (await hotline.calls.recent(limit=1))[0]
    assert (row.dialplan_id, row.dialplan_version) == ("hotline", 2)
    prompts = [e.data["text"] for e in await hotline.calls.events(row.id) if e.kind == "prompt"]
    assert prompts[0] == "Welcome to Acme Pay, edited in the browser. This call may be recorded."


async def test_reviewer_approves_a_change_in_the_browser(browser: object,
                                                         real_server: WebServer,
                                                         tmp_path: Path) -> None:
    server = real_server
    settings = SecuritySettings()
    customers = CustomerRepository(server.engine)
    await seed(customers, PinHasher(settings.pin))
    verifier = make_verifier(settings, server.engine, tmp_path)
    ctx = VerifyContext(call_id="c0ffee", channel="agi", caller="+15559990000")
    assert (await verifier.change_phone(ctx, "C1001", "15550001111")).outcome == "review"
    assert (await verifier.change_phone(ctx, "C1003", "15550002222")).outcome == "review"

    expect = playwright_api.expect
    expect.set_options(timeout=20000)
    page = await sign_in(browser, server.base, "rita")
    await expect(page).to_have_url(f"{server.base}/review")
    rows = page.locator("table.review tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("phone.caller_mismatch")
    await expect(rows.first).to_contain_text("the call does not come from the registered phone")
    await shot(page, "review.png", full_page=True)
    await rows.first.get_by_label("Note").fill("called the customer back")
    await rows.first.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text("Approved")
    await expect(rows).to_have_count(1)
    await rows.first.get_by_role("button", name="Reject").click()
    await expect(page.locator("table.review")).to_have_count(0)
    await expect(page.locator("table.decided tbody tr")).to_have_count(2)

    ada, grace = await customers.get("C1001"), await customers.get("C1003")
    assert ada is not None and grace is not None
    assert (ada.phone, grace.phone) == ("+15550001111", "+15557654321")
    entries = await server.audit.list(action="phone.review")
    assert [(e.actor, e.subject, e.outcome) for e in reversed(entries)] == [
        ("web:rita", "C1001", "approved"), ("web:rita", "C1003", "rejected")]
