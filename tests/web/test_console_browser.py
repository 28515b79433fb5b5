"""The console through the real server (``ivr serve``'s Hotline: FastAGI, store, web) in
headless Chromium: a supervisor watches a call appear live and end, the analytics page
counts exactly the calls placed, and a transferred caller's texted survey answer shows up.

With ``IVR_TEST_SCREENSHOTS=DIR`` the pages are saved there (docs/screenshots)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ivr.app import Hotline
from ivr.store.models import OtpOutboxRow
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings
from ivr.testing.web_harness import PASSWORD
from ivr.web.users import UserRepository

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("IVR_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(os.environ["IVR_TEST_SCREENSHOTS"]) if os.environ.get(
    "IVR_TEST_SCREENSHOTS") else None
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM),
                                reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
CALLER = "+15551234567"


@pytest.fixture
async def hotline(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> AsyncIterator[Hotline]:
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir,
                                  web={"public_url": "http://hotline.invalid"}))
    async with app.running():
        await UserRepository(app.engine).add("sam", "supervisor", PASSWORD)
        yield app


async def place(app: Hotline, *steps: str | None, pace: float = 0.0) -> None:
    """One FastAGI call from CALLER; ``pace`` s per prompt played (a call that lasts)."""
    assert app.agi_address is not None
    await run_call(*app.agi_address, script_actions=CallerScript.of(*steps),
                   sounds_root=app.settings.sounds_dir, idle_timeout=20, callerid=CALLER,
                   reply_delay=lambda command: pace if command.startswith("STREAM") else 0.0)


async def texted(app: Hotline, seconds: float = 10.0) -> str:
    """The one text sent to the caller; the survey inviter sends on its own task, after the
    call's rows are written, so the text may arrive a moment after the call ends."""
    async with asyncio.timeout(seconds):
        while True:
            async with app.engine.connect() as conn:
                bodies = (await conn.execute(sa.select(OtpOutboxRow.body).where(
                    OtpOutboxRow.phone == CALLER))).scalars().all()
            if bodies:
                assert len(bodies) == 1, bodies
                return str(bodies[0])
            await asyncio.sleep(0.1)


async def shot(page: object, name: str) -> None:
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / name), full_page=True)  # type: ignore[attr-defined]


async def test_live_call_analytics_and_survey_through_the_real_server(hotline: Hotline) -> None:
    expect = playwright_api.expect
    base = "http://{}:{}".format(*hotline.http_address)  # type: ignore[str-format]
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 760})
        await page.goto(f"{base}/live")
        await page.get_by_label("User name").fill("sam")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#live-status")).to_contain_text("Live")
        await expect(page.locator("#live-empty")).to_be_visible()

        # 1. A self-service caller (English, fees, done, survey 5) appears live and ends.
        call = asyncio.create_task(place(hotline, "1", "4", "1", "5", pace=0.4))
        row = page.locator("#live-calls tbody tr")
        await expect(row).to_have_count(1, timeout=15000)
        await expect(row.first).to_contain_text("***4567")
        await expect(row.first).not_to_contain_text("+1555")
        await expect(row.first.locator("td").nth(3)).not_to_have_text("—")  # a current node
        await shot(page, "live.png")
        await call
        await expect(row.first).to_contain_text("self_served", timeout=15000)
        await expect(row).to_have_count(0, timeout=15000)

        # 2. A caller who asks for an agent is transferred and texted a survey link.
        await place(hotline, "1", "0")
        assert await hotline.writer.wait_idle(5)
        body = await texted(hotline)
        link = body.split("http://hotline.invalid", 1)[1].split(" ", 1)[0]
        assert link.startswith("/s/")

        # 3. Analytics counts exactly those two calls.
        await page.goto(f"{base}/analytics")
        await expect(page.locator("#kpi-calls .value")).to_have_text("2")
        await expect(page.locator("#kpi-containment .value")).to_have_text("50.0%")
        await expect(page.locator("#kpi-survey .value")).to_have_text("5.0")
        await expect(page.locator("#transfers")).to_contain_text("customer_service")
        figures = json.loads(await (await page.request.get(f"{base}/api/analytics")).text())
        assert (figures["calls"], figures["transfers"], figures["survey"]) == (
            2, {"customer_service": 1}, {"responses": 1, "mean": 5.0})
        assert figures["nodes"]["main_menu"] == {"no_match_rate": 0.0, "no_input_rate": 0.0}

        # 4. The texted caller answers on the public page (no login), once.
        caller = await browser.new_page(viewport={"width": 480, "height": 640})
        await caller.goto(f"{base}{link}?lang=en-US")
        await expect(caller.get_by_role("heading", level=1)).to_have_text("How did we do?")
        await shot(caller, "survey.png")
        await caller.get_by_role("button", name="2", exact=True).click()
        await expect(caller.get_by_role("status")).to_contain_text("Thank you")
        await caller.goto(f"{base}{link}")
        await expect(caller.get_by_role("status")).to_contain_text("already")

        await page.reload()
        await expect(page.locator("#kpi-survey .value")).to_have_text("3.5")
        await expect(page.locator("#kpi-survey .label")).to_contain_text("2 answers")
        await shot(page, "analytics.png")
        await browser.close()
