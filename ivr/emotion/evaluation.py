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


def _one_core() -> None:
    """Score as on one core: one torch thread (the measurement is thread CPU time too)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch ships with the package
        pass


def evaluate_heldout(scorer: Any, language: str) -> dict[str, Any]:
    """The trained scorer on the held-out set of ``language``: escalation (the shipped policy
    on each single turn) recall, false escalations per 100 calm turns, AUC, latency."""
    from ivr.emotion.dataset import read_heldout

    _one_core()
    return evaluate_turns(scorer, language, [(h.text, h.distressed) for h in read_heldout()
                                             if h.language == language])


def evaluate_turns(scorer: Any, language: str,
                   turns: list[tuple[str, bool]]) -> dict[str, Any]:
    """Each (text, distressed) turn scored alone with the shipped policy: recall, false
    escalations per 100 calm turns, AUC, p95 latency (thread CPU, one torch thread)."""
    _one_core()
    scored: list[tuple[bool, float, bool]] = []
    cpu: list[float] = []
    wall: list[float] = []
    for text, distressed in turns:
        started, cpu_started = time.perf_counter(), time.thread_time()
        d = scorer.score(TurnInput(language, text))
        cpu.append((time.thread_time() - cpu_started) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        scored.append((distressed, d.score, bool(decide(DEFAULT_POLICY, [d]))))
    pos = [s for p, s, _ in scored if p]
    neg = [s for p, s, _ in scored if not p]
    tp = sum(1 for p, _, e in scored if p and e)
    fp = sum(1 for p, _, e in scored if not p and e)
    return {"language": language, "turns": len(scored), "distressed": len(pos),
            "recall": round(tp / len(pos), 3) if pos else float("nan"),
            "false_escalations_per_100_calm": round(100 * fp / len(neg), 1) if neg else 0.0,
            "auc": round(_auc(pos, neg), 3),
            "p95_ms": round(float(np.percentile(cpu, 95)), 1),
            "p95_wall_ms": round(float(np.percentile(wall, 95)), 1)}


def calm_requests(language: str) -> dict[str, list[str]]:
    """Calm one-sentence requests of ``language``: ``dev`` (models/distress/data/
    requests_dev.tsv, never trained on) and ``intent_test`` (the intent test phrases of every
    intent but ``complaint``; phrases of the intents the distress model learns as calm are
    also in its training data)."""
    from ivr.emotion.dataset import INTENT_DATA, _rows, load

    dev = [e.text for e in load() if e.split == "requests" and e.language == language]
    path = INTENT_DATA / language / "test.tsv"
    intent_test = [row[2] for row in _rows(path) if row[0] == language
                   and row[1] != "complaint"] if path.is_file() else []
    return {"dev": dev, "intent_test": intent_test}


def evaluate_requests(scorer: Any, language: str, texts: list[str],
                      name: str = "requests") -> dict[str, Any]:
    """Calm requests scored alone with the shipped policy: how many would escalate (each of
    them a caller taken out of self-service for asking a plain question)."""
    scored = [scorer.score(TurnInput(language, t)) for t in texts]
    escalated = sorted(((d.score, t) for d, t in zip(scored, texts, strict=True)
                        if decide(DEFAULT_POLICY, [d])), reverse=True)
    return {"language": language, "set": name, "turns": len(texts),
            "escalated": len(escalated),
            "false_escalations_per_100": round(100 * len(escalated) / len(texts), 1)
            if texts else 0.0,
            "mean_score": round(float(np.mean([d.score for d in scored])), 3) if texts else 0.0,
            "worst": [f"{s:.2f} {t}" for s, t in escalated[:5]]}


NEUTRAL_WORDS = {
    "en-US": ["I am calling about the payment I made on Monday.",
              "Can you tell me where the transfer is now?",
              "I would like to know the status of my refund.",
              "The payment to my landlord was sent last week.",
              "I need to check the balance on my account.",
              "Please look up the last transaction on my card.",
              "I sent the money to my brother on Friday.",
              "What is happening with my transfer?"],
    "zh-CN": ["我打电话是想问周一的那笔付款。",
              "你能告诉我那笔转账现在到哪了吗？",
              "我想知道我的退款进度。",
              "给房东的钱上周已经转出去了。",
              "我要查一下账户余额。",
              "请帮我查一下卡上最近一笔交易。",
              "我周五给我哥转了一笔钱。",
              "我的转账现在是什么情况？"],
}
"""Words with no distress in them, spoken calm or aroused for the voice benchmark."""


def voice_gain(scorer: Any, language: str) -> dict[str, Any]:
    """What voice adds over words alone where the words are neutral and the voice is not:
    each sentence spoken calm and aroused by espeak-ng (after one calm earlier turn of the
    same synthetic caller), scored on words only and on words plus audio."""
    from ivr.emotion.evalset import CALM, DISTRESSED, speak

    _one_core()
    base_clip = speak(NEUTRAL_WORDS[language][0], language, **CALM)
    base = prosody.features(base_clip)
    earlier = (base,) if base is not None else ()
    out: dict[str, list[float]] = {k: [] for k in ("words_aroused", "both_aroused",
                                                   "words_calm", "both_calm")}
    esc: dict[str, int] = {k: 0 for k in out}
    for text in NEUTRAL_WORDS[language][1:]:
        for style, tag in ((DISTRESSED, "aroused"), (CALM, "calm")):
            clip = speak(text, language, **style)
            for mode in ("words", "both"):
                d = scorer.score(TurnInput(language, text, clip if mode == "both" else None),
                                 earlier)
                out[f"{mode}_{tag}"].append(d.score)
                esc[f"{mode}_{tag}"] += bool(decide(DEFAULT_POLICY, [d]))
    n = len(NEUTRAL_WORDS[language]) - 1
    return {"language": language, "turns": n,
            "words_mean_aroused": round(float(np.mean(out["words_aroused"])), 3),
            "both_mean_aroused": round(float(np.mean(out["both_aroused"])), 3),
            "both_mean_calm": round(float(np.mean(out["both_calm"])), 3),
            "auc_words": round(_auc(out["words_aroused"], out["words_calm"]), 3),
            "auc_both": round(_auc(out["both_aroused"], out["both_calm"]), 3),
            "escalated_aroused_words": esc["words_aroused"],
            "escalated_aroused_both": esc["both_aroused"],
            "escalated_calm_both": esc["both_calm"]}
