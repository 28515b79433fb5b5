"""The trained distress model (issue 17) on the HELD-OUT set (models/distress/data/heldout.tsv:
caller turns written from a list of situations before any training data, never trained on or
tuned to), per language, with the shipped hotline.yaml policy applied to each single turn:
recall of distressed turns, false escalations per 100 calm turns, ROC AUC of the score, and
p95 scoring latency on one core (thread CPU time, one torch thread; `p95 wall ms` also counts
waiting for a shared CPU).

Then CALM REQUESTS per language: how many plain one-sentence requests ("how much money is in
my account?") the shipped policy would escalate, on models/distress/data/requests_dev.tsv
(never trained on) and on the calm intent test phrases (all intents but complaint).

Then what voice adds over words alone on audio whose words are neutral and whose voice is not
(espeak-ng calm vs raised pitch, rate and volume, after one calm earlier turn).
"""

from __future__ import annotations

from typing import Any

from ivr.emotion.evaluation import calm_requests, evaluate_heldout, evaluate_requests, voice_gain
from ivr.emotion.model import DistressModel
from ivr.emotion.scorer import TrainedScorer

FLOOR = ("held-out, per language: recall ≥ 0.85, ≤ 5 false escalations per 100 calm turns, "
         "p95 ≤ 50 ms on one core; calm requests (dev): ≤ 5 escalated per 100")


def bench(args: Any) -> dict[str, Any]:
    model = DistressModel.load()
    model.warm_up()
    scorer = TrainedScorer(model)
    rows: list[dict[str, Any]] = [evaluate_heldout(scorer, lang) for lang in ("en-US", "zh-CN")]
    met = all(r["recall"] >= 0.85 and r["false_escalations_per_100_calm"] <= 5
              and r["p95_ms"] <= 50 for r in rows)
    requests = []
    for lang in ("en-US", "zh-CN"):
        sets = calm_requests(lang)
        requests += [evaluate_requests(scorer, lang, sets["dev"], "requests_dev"),
                     evaluate_requests(scorer, lang, sets["intent_test"], "intent_test_calm")]
    met = met and all(r["false_escalations_per_100"] <= 5 for r in requests
                      if r["set"] == "requests_dev")
    voice = [voice_gain(scorer, lang) for lang in ("en-US", "zh-CN")]
    return {"title": f"Distress model {model.version} on the held-out set", "rows": rows,
            "calm_requests": requests, "voice_over_words": voice,
            "tables": ["calm_requests", "voice_over_words"], "floor": FLOOR,
            "floor_met": met}
