"""Run inside a loopback-only network namespace: `ivr serve`'s parts plus headless Chromium
on the softphone page. Prints one JSON document: what the page showed and measured.

Chromium pairs every interface it sees with the remote candidate, whatever the SDP says; in a
namespace with only ``lo`` up, all its traffic stays on 127.0.0.1.
Usage: python browser_call.py SOUNDS_DIR DIALPLAN_DIR TMP_DIR FAKE_MIC.wav [SCREENSHOT.png]
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.app import Hotline
from webrtc.conftest import base_url, make_settings

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
         "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
         "--disable-features=WebRtcHideLocalIpsWithMdns", "--disable-background-networking",
         "--disable-component-update", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required"]

STATS = """async () => {
  const s = window.hotlineSoftphone;
  const out = {inbound_bytes: 0, energy: 0, pairs: []};
  const stats = await s.pc.getStats();
  const byId = {};
  stats.forEach((r) => { byId[r.id] = r; });
  stats.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      out.inbound_bytes = r.bytesReceived; out.energy = r.totalAudioEnergy || 0; }
    if (r.type === 'candidate-pair' && r.state === 'succeeded') {
      const l = byId[r.localCandidateId], m = byId[r.remoteCandidateId];
      out.pairs.push([l && (l.address || l.ip), m && (m.address || m.ip)]); }
    if (r.type === 'transport') { out.dtls = r.dtlsState; out.srtp = r.srtpCipher; }
  });
  out.max_level = s.maxLevel;
  return out;
}"""


async def run(sounds: Path, plans: Path, tmp: Path, mic: Path, shot: Path | None) -> dict[str, Any]:
    from playwright.async_api import async_playwright, expect

    app = Hotline(make_settings(tmp, sounds, plans))
    result: dict[str, Any] = {}
    async with app.running(), async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=[*FLAGS, f"--use-file-for-fake-audio-capture={mic}"])
        try:
            page = await browser.new_page(viewport={"width": 520, "height": 900})
            await page.goto(f"{base_url(app)}/softphone")
            await page.get_by_role("button", name="Call").click()
            transcript = page.get_by_role("list", name="Transcript")
            await expect(transcript).to_contain_text("Welcome to Acme Pay", timeout=10000)
            await page.wait_for_function("() => window.hotlineSoftphone.maxLevel > 0.01",
                                         timeout=10000)
            result["welcome_stats"] = await page.evaluate(STATS)
            await expect(transcript).to_contain_text("For English, press 1", timeout=15000)
            await page.get_by_role("button", name="Key 1").click()
            await expect(transcript).to_contain_text("Hotline got key:1", timeout=10000)
            await expect(transcript).to_contain_text("or 0 for an agent",
                                                     timeout=10000)
            await page.get_by_role("button", name="Key 0").click()
            await expect(transcript).to_contain_text("Call outcome: queued (customer_service)",
                                                     timeout=15000)
            await expect(page.get_by_role("status")).to_contain_text("Hotline ended the call",
                                                                     timeout=10000)
            result["transcript"] = await transcript.inner_text()
            if shot is not None:
                await page.screenshot(path=str(shot), full_page=True)
            result["call_id"] = await page.evaluate("() => window.hotlineSoftphone.callId")
        finally:
            await browser.close()
        assert await app.writer.wait_idle(5)
        row = await app.calls.get(result["call_id"])
        result["stored"] = {"outcome": row.outcome, "queue": row.queue,
                            "transport": row.transport} if row else None
    return result


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    out = asyncio.run(run(args[0], args[1], args[2], args[3], args[4] if len(args) > 4 else None))
    print(json.dumps(out))
