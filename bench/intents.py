"""Intent classifier: accuracy and macro-F1 per language on the test split, unknown rejection,
latency p50/p95 on one core, model load time, training time (from the model's own record).

Uses ``models/intents/current`` (``make bench`` trains one first when it is missing).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "intents" / "current"
DATA = ROOT / "models" / "intents" / "data"
FLOOR = "accuracy >= 92 % per language, unknown rejected >= 80 %, p95 <= 25 ms on one core"


def bench(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from ivr.nlu.classifier import IntentClassifier
    from ivr.nlu.dataset import read_tsv
    from ivr.nlu.metrics import report

    torch.set_num_threads(1)
    if not MODEL.exists():
        from ivr.nlu.train import TrainOptions, train

        train(TrainOptions(DATA, MODEL.parent))
    started = time.perf_counter()
    model = IntentClassifier.load(MODEL)
    load_seconds = time.perf_counter() - started
    meta = json.loads((MODEL / "meta.json").read_text(encoding="utf-8"))
    rows_out = []
    met = True
    for lang in ("en-US", "zh-CN"):
        rows = read_tsv(DATA / lang / "test.tsv")
        times, predicted = [], []
        for row in rows:
            t0 = time.perf_counter()
            predicted.append(model.classify(row.text, row.lang).intent)
            times.append((time.perf_counter() - t0) * 1000)
        r = report(rows, predicted)
        p50, p95 = (float(np.percentile(times, q)) for q in (50, 95))
        rows_out.append({"language": lang, "rows": len(rows), "accuracy": r["per_lang"][lang],
                         "macro_f1": r["macro_f1"][lang],
                         "unknown_rejection": r["unknown_rejection"],
                         "p50_ms": round(p50, 2), "p95_ms": round(p95, 2),
                         "load_seconds": round(load_seconds, 2),
                         "training_seconds": meta.get("training_seconds"),
                         "model": meta["version"]})
        met &= r["per_lang"][lang] >= 0.92 and r["unknown_rejection"] >= 0.8 and p95 <= 25
    return {"title": "Intent classification (test split, one core)", "rows": rows_out,
            "floor": FLOOR, "floor_met": met}
