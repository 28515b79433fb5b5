"""The supervisor console in headless Chromium (Debian's ``chromium``, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.testing.web_harness import PASSWORD, WebServer

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("IVR_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required"]
SCREENSHOTS = Path(os.environ.get("IVR_TEST_SCREENSHOTS", "")) if os.environ.get(
    "IVR_TEST_SCREENSHOTS") else None

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


async def sign_in(browser: object, server: WebServer, name: str,
                  password: str = PASSWORD) -> object:
    page = await browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    await page.goto(f"{server.base}/")
    await page.get_by_label("User name").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    return page


async def test_supervisor_finds_a_call_and_plays_it(browser: object,
                                                    real_server: WebServer) -> None:
    server = real_server
    page = await sign_in(browser, server, "sam")
    expect = playwright_api.expect
    await expect(page).to_have_url(f"{server.base}/calls")
    await page.get_by_label("Caller number").fill("4567")
    await page.get_by_role("button", name="Search").click()
    rows = page.locator("table.calls tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Queued")
    await expect(rows.first).to_contain_text("Recorded")
    await rows.first.get_by_role("link", name="Open").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("+15551234567")
    await expect(page.locator("ol.timeline")).to_contain_text("secret, not shown")

    await page.get_by_label("Reason for listening").fill("customer complaint 42")
    await page.get_by_role("button", name="Play recording").click()
    audio = page.locator("audio")
    await page.wait_for_function(
        "() => { const a = document.querySelector('audio');"
        " return a.readyState >= 2 && a.duration > 0 && a.currentTime > 0; }", timeout=15000)
    duration = await audio.evaluate("a => a.duration")
    assert duration == pytest.approx(3.0, abs=0.1)
    await expect(page.locator(".player .status")).to_contain_text("audit log")
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "call-page.png"), full_page=True)
    # The real store audits each decryption: "started", then the result.
    entries = await server.audit.list(action="recording.decrypt", actor="web:sam")
    assert {(e.subject, e.channel, e.reason) for e in entries} == {
        (server.recording.id, "127.0.0.1", "customer complaint 42")}  # type: ignore[union-attr]
    assert "started" in {e.outcome for e in entries} and "failed" not in {
        e.outcome for e in entries}


async def test_admin_is_refused(browser: object, real_server: WebServer) -> None:
    server = real_server
    page = await sign_in(browser, server, "ada")
    expect = playwright_api.expect
    await expect(page).to_have_url(f"{server.base}/admin/users")
    response = await page.goto(f"{server.base}/calls/{server.card_call}")
    assert response is not None and response.status == 403
    await expect(page.locator("main")).to_contain_text("needs the supervisor role")
    assert server.recording is not None
    status = await page.evaluate(
        "async (url) => (await fetch(url)).status",
        f"/recordings/{server.recording.id}/audio")
    assert status == 403


async def test_wrong_password_locks_the_account(browser: object,
                                                real_server: WebServer) -> None:
    server = real_server
    page = await sign_in(browser, server, "sam", "wrong password")
    expect = playwright_api.expect
    for _ in range(4):
        await expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
        await page.get_by_label("Password").fill("still wrong")
        await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("locked")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("locked")
    await expect(page).to_have_url(f"{server.base}/login")


async def test_post_without_csrf_token_is_rejected(browser: object,
                                                   real_server: WebServer) -> None:
    server = real_server
    page = await sign_in(browser, server, "sam")
    await playwright_api.expect(page).to_have_url(f"{server.base}/calls")
    # The session cookie goes along (same origin), but the token does not.
    status = await page.evaluate(
        "async () => (await fetch('/logout', {method: 'POST', body: new URLSearchParams()}))"
        ".status")
    assert status == 403
    await page.reload()
    await playwright_api.expect(page).to_have_url(f"{server.base}/calls")
