"""Distress scoring on the CONSTRUCTED evaluation set (ivr.emotion.evalset): written texts in
en-US and zh-CN, spoken by espeak-ng calm or distressed (pitch, rate, volume). Not natural
data: the numbers check the scorer's behaviour, not its accuracy on real callers.

Reported per input mode (words only, voice only against a calm baseline turn, both):
precision and recall of escalation (default single-turn rule) on distressed turns, false
escalations per 100 non-distressed (calm and neutral) turns, ROC AUC of the score, and
scoring latency per turn on one core (p50/p95).
"""

from __future__ import annotations

from typing import Any

from ivr.emotion.evaluation import evaluate

FLOOR = "both: recall ≥ 0.8, ≤ 5 false escalations per 100 calm turns, p95 ≤ 50 ms per turn"


def bench(args: Any) -> dict[str, Any]:
    rows = [evaluate(mode) for mode in ("words", "voice", "both")]
    both = rows[-1]
    met = (both["recall"] >= 0.8 and both["false_escalations_per_100_calm"] <= 5
           and max(r["p95_ms"] for r in rows) <= 50)
    return {"title": "Distress scoring (constructed evaluation set, not natural data)",
            "rows": rows, "floor": FLOOR, "floor_met": met}
