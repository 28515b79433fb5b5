"""Answers: how long a caller waits for a sentence holding their own figures (a balance).

Such a sentence cannot be rendered ahead: the renderer speaks it during the call, with the
shipped voices (Mandarin: Kokoro; English: Piper when the ``neural`` extra is installed).
Four callers ask at once, with different balances,

* on a quiet server, and
* while the server renders a newly published dialplan's prompts (every prompt of
  hotline.yaml, reworded so none is cached),

each time through the per-call worker (what ``ivr serve`` does) and, as the baseline in the
same run, through the dialplans' worker (what it did before: one worker for everything, so
an answer queued behind the prompts). Figures: seconds from the request to a playable file.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CALLERS = 4
TEMPLATES = {
    "zh-CN": "您的账户余额为{}元，其中可用余额{}元。",
    "en-US": "Your balance is {} dollars, of which {} dollars are available.",
}


def _answers(language: str, round_: int) -> list[str]:
    return [TEMPLATES[language].format(1000 + 37 * (round_ * CALLERS + i) + 0.25,
                                       900 + 13 * (round_ * CALLERS + i))
            for i in range(CALLERS)]


async def _wait_for_answers(renderer: Any, language: str, texts: list[str],
                            private: bool) -> list[float]:
    async def one(text: str) -> float:
        started = time.perf_counter()
        await renderer.ensure(text, language, private=private)
        return time.perf_counter() - started

    return list(await asyncio.gather(*(one(t) for t in texts)))


async def _run() -> dict[str, Any]:
    from ivr.config import load_settings
    from ivr.flow.loader import load_file
    from ivr.flow.prompts import plan_texts
    from ivr.speech.neural import default_voices
    from ivr.speech.tts import PromptRenderer

    work = Path(tempfile.mkdtemp(prefix="bench-answers-"))
    settings = load_settings(work, {})
    plan = load_file(ROOT / "dialplans" / "hotline.yaml")[0].plan
    voices = default_voices()
    rows: list[dict[str, Any]] = []
    round_ = 0
    for language in ("zh-CN", "en-US"):
        published = [(f"{text} ", lang) for text, lang in plan_texts(plan) if lang == language]
        for worker in ("per-call", "shared (before)"):
            private = worker == "per-call"
            renderer = PromptRenderer(sounds_dir=work / f"{language}-{round_}",
                                      asterisk_dir="/bench", voices=voices,
                                      rate=settings.prompts.rate)
            try:
                await renderer.warm([language])
                await renderer.ensure("OK.", language)  # both workers loaded
                round_ += 1
                quiet = await _wait_for_answers(renderer, language, _answers(language, round_),
                                                private)
                publish = asyncio.create_task(renderer.render_all(published))
                await asyncio.sleep(1.0)  # the publish is under way when the callers ask
                round_ += 1
                busy = await _wait_for_answers(renderer, language, _answers(language, round_),
                                               private)
                publish.cancel()
                await asyncio.gather(publish, return_exceptions=True)
            finally:
                await renderer.aclose()
            rows.append({
                "language": language, "voice": voices[language], "worker": worker,
                "quiet_mean_s": round(statistics.mean(quiet), 2),
                "quiet_max_s": round(max(quiet), 2),
                "during_publish_mean_s": round(statistics.mean(busy), 2),
                "during_publish_max_s": round(max(busy), 2),
            })
    return {"rows": rows}


def bench(args: Any) -> dict[str, Any]:
    result = asyncio.run(_run())
    rows = result["rows"]
    met = True
    for language in ("zh-CN", "en-US"):
        ours = next(r for r in rows if r["language"] == language and r["worker"] == "per-call")
        before = next(r for r in rows if r["language"] == language and r["worker"] != "per-call")
        ours["publish_ratio_vs_before"] = round(
            ours["during_publish_max_s"] / before["during_publish_max_s"], 2)
        met = met and ours["during_publish_max_s"] < before["during_publish_max_s"]
    return {
        "title": f"Answers with the caller's figures: {CALLERS} callers at once, seconds to a "
                 "playable file (per-call worker vs one shared worker, same run)",
        "rows": rows,
        "floor": "during a publish, an answer waits less than with one shared worker",
        "floor_met": met,
    }


if __name__ == "__main__":
    import argparse
    import json

    print(json.dumps(bench(argparse.Namespace()), indent=2))
