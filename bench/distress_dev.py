"""The distress model on its DEV data, never on the held-out set:
``python -m bench.distress_dev [--model DIR] [--cv LANG]``.

* Without ``--cv``: the built model (``models/distress/current``) on the dev set
  (``models/distress/data/dev_zh.tsv``: writers of its own, never trained on), the shipped
  policy on each single turn, plus the dev turns it gets wrong (this set is for looking at).
* ``--cv LANG``: the writer-grouped cross-validation ``ivr emotion train`` runs, for one
  language and without writing a model: out-of-fold AUC, recall and false escalations per 100
  calm caller turns at the policy's 0.7, the calm caller turns of the dev folds that escalate,
  and a model fitted on all training writers scored on the dev set. Levers are chosen here; the
  held-out set (``python -m bench --only distress``) is for the final figures only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ivr.emotion import dataset
from ivr.emotion.evaluation import calm_requests, evaluate_requests, evaluate_turns


def _wrong(scorer: Any, language: str, turns: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    from ivr.emotion.policy import DEFAULT_POLICY, decide
    from ivr.emotion.types import TurnInput

    out = []
    for text, distressed in turns:
        d = scorer.score(TurnInput(language, text))
        if bool(decide(DEFAULT_POLICY, [d])) != distressed:
            out.append({"label": "distressed" if distressed else "calm", "score": d.score,
                        "text": text})
    return out


def dev_set(model_dir: Path | None) -> dict[str, Any]:
    from ivr.emotion.model import MODEL_DIR, DistressModel
    from ivr.emotion.scorer import TrainedScorer

    model = DistressModel.load(model_dir or MODEL_DIR)
    scorer = TrainedScorer(model)
    model.warm_up()
    rows = [e for e in dataset.load() if e.split == "dev"]
    out: dict[str, Any] = {"model": model.version, "languages": []}
    for lang in sorted({e.language for e in rows}):
        turns = [(e.text, e.distressed) for e in rows if e.language == lang]
        out["languages"].append({**evaluate_turns(scorer, lang, turns),
                                 "wrong": _wrong(scorer, lang, turns)})
    out["calm_requests"] = [evaluate_requests(scorer, lang, calm_requests(lang)["dev"])
                            for lang in dataset.LANGS]
    return out


def cross_validation(language: str) -> dict[str, Any]:
    from ivr.emotion import model as m
    from ivr.emotion.scorer import TrainedScorer

    examples = dataset.load()
    rows = [e for e in examples if e.language == language and e.split == "train"]
    featurizer = m.Featurizer()
    x = featurizer.matrix([r.text for r in rows], language)
    y = np.array([int(r.distressed) for r in rows])
    w = np.array([r.weight for r in rows], dtype=np.float64)
    callers = np.array([r.source == "callers" for r in rows])
    cv_auc, c, scale, oof = m.cross_validate(rows, x, y, w, m.CHOICES[language], m.WEAK_SCALES)
    a, b = m._platt(oof[callers], y[callers])
    p = 1.0 / (1.0 + np.exp(-(a * oof + b)))
    cal = callers & (y == 0)
    dis = callers & (y == 1)
    false = sorted(((float(p[i]), rows[i].writer, rows[i].text) for i in np.flatnonzero(cal)
                    if p[i] >= 0.7), reverse=True)
    weak = np.array([r.source in m.WEAK_SOURCES for r in rows])
    ws = np.where(weak, w * scale, w)
    fit = ws > 0
    final = m._fit(x[fit], y[fit], ws[fit], c)
    head = {"coef": final.coef_[0].tolist(), "intercept": float(final.intercept_[0]),
            "platt_a": a, "platt_b": b}
    scorer = TrainedScorer(m.DistressModel({"heads": {language: head}}, featurizer))
    dev = [(e.text, e.distressed) for e in examples
           if e.language == language and e.split == "dev"]
    return {"language": language, "C": c, "weak_scale": scale,
            "cv_auc_callers": round(cv_auc, 4),
            "dev_recall_at_0.7": round(float((p[dis] >= 0.7).mean()), 3),
            "dev_false_per_100_at_0.7": round(100 * float((p[cal] >= 0.7).mean()), 1),
            "caller_rows": int(callers.sum()), "calm_caller_rows": int(cal.sum()),
            "false_escalations": [f"{s:.2f} {wr} {t}" for s, wr, t in false],
            "dev_set": {**evaluate_turns(scorer, language, dev),
                        "wrong": _wrong(scorer, language, dev)} if dev else None,
            "calm_requests": evaluate_requests(scorer, language,
                                               calm_requests(language)["dev"])}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.distress_dev")
    parser.add_argument("--model", type=Path, help="a built model (default: current)")
    parser.add_argument("--cv", choices=dataset.LANGS,
                        help="writer-grouped cross-validation of one language instead")
    args = parser.parse_args()
    result = cross_validation(args.cv) if args.cv else dev_set(args.model)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
