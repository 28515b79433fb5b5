"""The trained distress model (issue 17) on the HELD-OUT set (models/distress/data/heldout.tsv:
caller turns written from a list of situations before any training data, never trained on or
tuned to), per language, with the shipped hotline.yaml policy applied to each single turn:
recall of distressed turns, false escalations per 100 calm turns, ROC AUC of the score, and
p95 scoring latency on one core (thread CPU time, one torch thread; `p95 wall ms` also counts
waiting for a shared CPU).

Then what voice adds over words alone on audio whose words are neutral and whose voice is not
(espeak-ng calm vs raised pitch, rate and volume, after one calm earlier turn).
"""

from __future__ import annotations

from typing import Any

from ivr.emotion.evaluation import evaluate_heldout, voice_gain
from ivr.emotion.model import DistressModel
from ivr.emotion.scorer import TrainedScorer

FLOOR = ("held-out, per language: recall ≥ 0.85, ≤ 5 false escalations per 100 calm turns, "
         "p95 ≤ 50 ms on one core")


def bench(args: Any) -> dict[str, Any]:
    model = DistressModel.load()
    model.warm_up()
    scorer = TrainedScorer(model)
    rows: list[dict[str, Any]] = [evaluate_heldout(scorer, lang) for lang in ("en-US", "zh-CN")]
    met = all(r["recall"] >= 0.85 and r["false_escalations_per_100_calm"] <= 5
              and r["p95_ms"] <= 50 for r in rows)
    voice = [voice_gain(scorer, lang) for lang in ("en-US", "zh-CN")]
    return {"title": f"Distress model {model.version} on the held-out set", "rows": rows,
            "voice_over_words": voice, "tables": ["voice_over_words"], "floor": FLOOR,
            "floor_met": met}
