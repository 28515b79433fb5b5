"""Answers: how long a caller waits to hear a sentence holding their own figures.

Such a sentence (a balance) cannot be rendered ahead: the renderer speaks it during the
call, with the shipped voices (Mandarin: Kokoro; English: Piper when the ``neural`` extra is
installed). Measured as seconds from the request to the first playable file:

* **now**: what ``ivr serve`` does. A Mandarin answer is cut into clauses
  (:func:`ivr.flow.context.answer_pieces`) and the caller hears the first while the rest
  renders; a call's job goes before prompts rendered ahead.
* **before**: the whole sentence rendered first (the previous behaviour), same renderer.

Each with one caller, and with four callers asking at once while the server renders a newly
published dialplan's prompts (every prompt of hotline.yaml, reworded so none is cached).
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


class _Amounts:
    """A new balance for every answer, so nothing comes from a cache."""

    def __init__(self) -> None:
        self.n = 0

    def answer(self, language: str) -> str:
        self.n += 1
        return TEMPLATES[language].format(f"{1000 + 37 * self.n}.25", 900 + 13 * self.n)


async def _first_audio(renderer: Any, language: str, text: str, pieces: bool) -> float:
    from ivr.flow.context import answer_pieces

    started = time.perf_counter()
    parts = answer_pieces(text, language) if pieces else [text]
    jobs = [asyncio.create_task(renderer.ensure(p, language, private=True)) for p in parts]
    await jobs[0]
    first = time.perf_counter() - started
    await asyncio.gather(*jobs)
    return first


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
    amounts = _Amounts()
    rows: list[dict[str, Any]] = []
    for language in ("zh-CN", "en-US"):
        published = [(f"{text} ", lang) for text, lang in plan_texts(plan) if lang == language]
        for way in ("now", "before"):
            pieces = way == "now"
            renderer = PromptRenderer(sounds_dir=work / f"{language}-{way}",
                                      asterisk_dir="/bench", voices=voices,
                                      rate=settings.prompts.rate)
            try:
                await renderer.warm([language])
                alone = [await _first_audio(renderer, language, amounts.answer(language),
                                            pieces) for _ in range(3)]
                publish = asyncio.create_task(renderer.render_all(published))
                await asyncio.sleep(1.0)  # the publish is under way when the callers ask
                busy = await asyncio.gather(*(
                    _first_audio(renderer, language, amounts.answer(language), pieces)
                    for _ in range(CALLERS)))
                publish.cancel()
                await asyncio.gather(publish, return_exceptions=True)
            finally:
                await renderer.aclose()
            rows.append({
                "language": language, "voice": voices[language], "way": way,
                "one_caller_mean_s": round(statistics.mean(alone), 2),
                "one_caller_max_s": round(max(alone), 2),
                f"{CALLERS}_callers_in_a_publish_mean_s": round(statistics.mean(busy), 2),
                f"{CALLERS}_callers_in_a_publish_max_s": round(max(busy), 2),
            })
    return {"rows": rows}


def bench(args: Any) -> dict[str, Any]:
    rows = asyncio.run(_run())["rows"]
    now = next(r for r in rows if r["language"] == "zh-CN" and r["way"] == "now")
    before = next(r for r in rows if r["language"] == "zh-CN" and r["way"] == "before")
    ratio = now["one_caller_mean_s"] / before["one_caller_mean_s"]
    now["one_caller_ratio_vs_before"] = round(ratio, 2)
    return {
        "title": "Answers with the caller's figures: seconds until the caller hears the first "
                 "words (rendered during the call; same run, now vs the whole sentence first)",
        "rows": rows,
        "floor": "a Mandarin answer starts sooner than a whole sentence rendered first",
        "floor_met": ratio < 1.0,
    }


if __name__ == "__main__":
    import argparse
    import json

    print(json.dumps(bench(argparse.Namespace()), indent=2))
