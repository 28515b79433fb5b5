"""Escalation metrics of the scorer on the constructed evaluation set (not natural data)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ivr.emotion import prosody
from ivr.emotion.evalset import spoken_set
from ivr.emotion.policy import DEFAULT_POLICY, decide
from ivr.emotion.scorer import CueScorer
from ivr.emotion.types import TurnInput


def _auc(pos: list[float], neg: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg)) if pos and neg else float("nan")


def evaluate(mode: str = "both") -> dict[str, Any]:
    """Score every constructed turn in ``mode`` (words, voice, both); one row of results."""
    items, baselines = spoken_set()
    earlier = {lang: prosody.features(clip) for lang, clip in baselines.items()}
    scorer = CueScorer()
    scorer.score(TurnInput("en-US", "warm up")), scorer.score(TurnInput("zh-CN", "预热"))
    scores: list[tuple[bool, float, bool]] = []
    latency: list[float] = []
    for it in items:
        turn = TurnInput(it.language, None if mode == "voice" else it.text,
                         None if mode == "words" else it.audio)
        base = earlier[it.language]
        started = time.perf_counter()
        d = scorer.score(turn, (base,) if base is not None else ())
        latency.append((time.perf_counter() - started) * 1000)
        scores.append((it.label == "distressed", d.score, bool(decide(DEFAULT_POLICY, [d]))))
    tp = sum(1 for pos, _, esc in scores if pos and esc)
    fp = sum(1 for pos, _, esc in scores if not pos and esc)
    n_pos = sum(1 for pos, _, _ in scores if pos)
    n_neg = len(scores) - n_pos
    return {
        "mode": mode, "turns": len(scores), "distressed": n_pos,
        "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "recall": round(tp / n_pos, 3),
        "false_escalations_per_100_calm": round(100 * fp / n_neg, 1),
        "auc": round(_auc([s for p, s, _ in scores if p], [s for p, s, _ in scores if not p]), 3),
        "p50_ms": round(float(np.percentile(latency, 50)), 2),
        "p95_ms": round(float(np.percentile(latency, 95)), 2),
    }
