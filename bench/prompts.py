"""Prompts: is every prompt of dialplans/hotline.yaml intelligible, per language and voice?

Each prompt is rendered as callers hear it (8 kHz, the renderer of ``ivr serve``) with each
candidate voice, then transcribed back by the default recogniser of its language (English:
whisper tiny.en; Mandarin: whisper base, language fixed to zh). Scores: WER (English) and
CER (Mandarin) after the normalisation described in ivr/testing/intelligibility.py.

Voices: the defaults (en-US ``piper:joe-us`` when the ``neural`` extra is installed, zh-CN
``cmn-latn-pinyin`` from pinyin) and, for comparison, espeak-ng's ``en-us`` and the plain
``cmn`` voice Hotline used before (it reads hanzi as English letter names).

Rows: one summary row per (language, voice), then one row per prompt for the default voices.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EN_FLOOR = 0.10  # WER, every prompt
ZH_FLOOR = 0.30  # mean CER over the prompts
CANDIDATES = {"en-US": ["en-us"], "zh-CN": ["cmn"]}


async def _run() -> dict[str, Any]:
    from ivr.config import load_settings
    from ivr.speech.engines import load_recognizers, make_pool
    from ivr.speech.neural import default_voices
    from ivr.speech.tts import PromptRenderer
    from ivr.testing.intelligibility import PromptScore, dialplan_prompts, hear_prompts, mean_rate

    work = Path(tempfile.mkdtemp(prefix="bench-prompts-"))
    # Mandarin prompts are heard by plain Whisper base: the domain adapter was trained on the
    # hotline's sentences (in the prompts' voice too) and would fill in what it expects.
    settings = load_settings(work, {"speech": {
        "decode_timeout": 120, "queue_timeout": 60,
        "languages": {"en-US": {"engine": "whisper"},
                      "zh-CN": {"engine": "whisper", "adapter": False}}}})
    pool = make_pool(settings.speech)
    recognisers, failed = await asyncio.to_thread(
        load_recognizers, ["en-US", "zh-CN"], settings.speech, pool,
        models_dir=settings.models_dir)
    if failed:
        raise SystemExit(f"recognisers missing: {failed}")
    defaults = default_voices()
    summary: list[dict[str, Any]] = []
    detail: list[dict[str, Any]] = []
    for language in ("en-US", "zh-CN"):
        prompts = dialplan_prompts(ROOT / "dialplans" / "hotline.yaml", [language],
                                   {language: settings.dialplans.apology[language]})
        for voice in [defaults[language], *CANDIDATES[language]]:
            if voice != defaults[language] and voice in defaults.values():
                continue
            renderer = PromptRenderer(sounds_dir=work / voice.replace(":", "-"),
                                      asterisk_dir="/bench", voices={language: voice},
                                      rate=settings.prompts.rate)
            started = time.perf_counter()
            try:
                scores: list[PromptScore] = await hear_prompts(renderer, prompts, recognisers)
            finally:
                await renderer.aclose()
            rates = [s.error_rate for s in scores]
            summary.append({
                "language": language, "voice": voice, "default": voice == defaults[language],
                "prompt": f"(all {len(scores)})",
                "metric": "WER" if language.startswith("en") else "CER",
                "error_rate": round(mean_rate(scores), 3), "worst": round(max(rates), 3),
                "over_10pct": sum(r > EN_FLOOR for r in rates),
                "seconds": round(time.perf_counter() - started, 1)})
            if voice == defaults[language]:
                detail += [{"language": language, "voice": voice, "default": True,
                            "prompt": s.text[:60], "metric": summary[-1]["metric"],
                            "error_rate": round(s.error_rate, 3), "worst": "",
                            "over_10pct": "", "seconds": "", "heard": s.heard}
                           for s in sorted(scores, key=lambda s: -s.error_rate)]
    pool.shutdown()
    en = next(r for r in summary if r["default"] and r["language"] == "en-US")
    zh = next(r for r in summary if r["default"] and r["language"] == "zh-CN")
    return {"title": "Prompts: every hotline prompt transcribed back (WER en, CER zh)",
            "rows": summary + detail,
            "floor": "English WER ≤ 10 % on every prompt; Mandarin mean CER ≤ 30 %",
            "floor_met": en["over_10pct"] == 0 and zh["error_rate"] <= ZH_FLOOR}


def bench(args: Any) -> dict[str, Any]:
    """``python -m bench --only prompts``."""
    return asyncio.run(_run())
