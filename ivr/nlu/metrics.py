"""Scores for an intent classifier on labelled rows (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from ivr.nlu.dataset import LABELS, UNKNOWN, Example


def report(rows: Sequence[Example], predicted: Sequence[str]) -> dict[str, Any]:
    """accuracy (``unknown`` rows count as correct when rejected), per_lang, unknown_rejection,
    per_intent precision/recall/F1, macro_f1 per language and the confusion matrix."""
    pairs = list(zip(rows, predicted, strict=True))
    correct = [row.intent == guess for row, guess in pairs]
    by_lang: dict[str, list[bool]] = defaultdict(list)
    for (row, _), ok in zip(pairs, correct, strict=True):
        by_lang[row.lang].append(ok)
    unknown = [guess == UNKNOWN for row, guess in pairs if row.intent == UNKNOWN]
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for row, guess in pairs:
        confusion[row.intent][guess] += 1
    return {
        "rows": len(pairs),
        "accuracy": _share(correct),
        "per_lang": {lang: _share(oks) for lang, oks in sorted(by_lang.items())},
        "unknown_rejection": _share(unknown),
        "per_intent": _per_intent(pairs),
        "macro_f1": {lang: _macro_f1([p for p in pairs if p[0].lang == lang])
                     for lang in sorted(by_lang)},
        "confusion": {gold: dict(sorted(c.items())) for gold, c in sorted(confusion.items())},
    }


def _share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def _per_intent(pairs: Sequence[tuple[Example, str]]) -> dict[str, dict[str, float]]:
    out = {}
    labels = [label for label in LABELS if any(r.intent == label or g == label for r, g in pairs)]
    for label in labels:
        tp = sum(1 for r, g in pairs if r.intent == label and g == label)
        fp = sum(1 for r, g in pairs if r.intent != label and g == label)
        fn = sum(1 for r, g in pairs if r.intent == label and g != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": round(precision, 4), "recall": round(recall, 4),
                      "f1": round(f1, 4), "support": tp + fn}
    return out


def _macro_f1(pairs: Sequence[tuple[Example, str]]) -> float:
    scores = [v["f1"] for k, v in _per_intent(pairs).items() if v["support"]]
    return round(sum(scores) / len(scores), 4) if scores else 0.0
