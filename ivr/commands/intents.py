"""``ivr intents train`` and ``ivr intents eval FILE.tsv [--json] [--model DIR]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ivr.commands import HELP
from ivr.commands.progress import stage_bars
from ivr.config import Settings
from ivr.nlu.errors import NluError

Console = Any  # ivr.cli.Console (ivr.cli imports this module)
DATA_DIR = Path("models/intents/data")
OUT_ROOT = Path("models/intents")
MISSES_SHOWN = 20
"""Misclassified sentences ``ivr intents eval`` prints (``--json`` lists every one)."""


def register(sub: Any, add_command: Any) -> None:
    p = sub.add_parser("intents", help=HELP["intents"])
    ps = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    tr = add_command(ps, "train", cmd_train, "train a model from models/intents/data and make it "
                     "current", needs_db=False)
    tr.add_argument("--data", type=Path, default=DATA_DIR, metavar="DIR",
                    help="holds <lang>/{train,validation,test}.tsv")
    tr.add_argument("--out", type=Path, default=OUT_ROOT, metavar="DIR",
                    help="where <version>/ and current go (default models/intents)")
    tr.add_argument("--seed", type=int, default=13)
    tr.add_argument("--epochs", type=int, default=None)
    ev = add_command(ps, "eval", cmd_eval, "score a model on a TSV file (lang, intent, text)",
                     needs_db=False)
    ev.add_argument("file", type=Path, metavar="FILE.tsv")
    ev.add_argument("--model", type=Path, metavar="DIR", help="model version (default: the "
                    "configured current one)")
    ev.add_argument("--dialplan", type=Path, metavar="FILE.yaml",
                    help="whose open question to answer as a call would (default: hotline.yaml "
                    "in the dialplans folder)")
    ev.add_argument("--model-only", action="store_true",
                    help="score the classifier alone, without the call's pipeline")


def cmd_train(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.nlu.train import TrainOptions, train

    opts = TrainOptions(args.data, args.out, seed=args.seed)
    if args.epochs:
        opts = TrainOptions(args.data, args.out, seed=args.seed, epochs=args.epochs)
    with stage_bars() as progress:
        folder = train(opts, progress)
    report = json.loads((folder / "eval.json").read_text(encoding="utf-8"))
    summary = {"model": str(folder), "current": str(args.out / "current"),
               **{k: report[k] for k in ("accuracy", "per_lang", "unknown_rejection",
                                          "macro_f1", "thresholds", "training_seconds")}}
    out.result(summary)
    out.say(f"trained {folder.name} in {report['training_seconds']:.0f} s; test accuracy "
            + ", ".join(f"{k} {v:.1%}" for k, v in report["per_lang"].items())
            + f"; unknown rejected {report['unknown_rejection']:.1%}; current -> {folder.name}")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.nlu.classifier import IntentClassifier
    from ivr.nlu.dataset import read_tsv
    from ivr.nlu.metrics import report

    rows = read_tsv(args.file)
    if not rows:
        raise NluError("nlu-data-empty", f"{args.file} has no rows")
    model = IntentClassifier.load(args.model or settings.intents.model_dir)
    if args.model_only:
        predicted = [model.classify(r.text, r.lang).intent for r in rows]
        pipeline = "model"
    else:
        from ivr.flow.intents import answer_as_a_call, open_question

        ask = open_question(args.dialplan or settings.dialplans.dir / "hotline.yaml")
        predicted = [answer_as_a_call(model, ask, r.text, r.lang) for r in rows]
        pipeline = "call"
    result = {"model": model.version, "file": str(args.file), "pipeline": pipeline,
              **report(rows, predicted),
              # Which sentences went wrong, so an admin sees what wording to add.
              "misses": [{"lang": r.lang, "intent": r.intent, "predicted": guess,
                          "text": r.text}
                         for r, guess in zip(rows, predicted, strict=True) if guess != r.intent]}
    out.result(result, _human(result))
    return 0


def _human(r: dict[str, Any]) -> str:
    lines = [f"model {r['model']} on {r['file']} ({r['rows']} rows)",
             f"accuracy {r['accuracy']:.1%}  "
             + "  ".join(f"{k} {v:.1%}" for k, v in r["per_lang"].items()),
             f"unknown rejected {r['unknown_rejection']:.1%}", "",
             f"{'intent':<16}{'precision':>10}{'recall':>8}{'f1':>8}{'n':>6}"]
    for intent, m in r["per_intent"].items():
        lines.append(f"{intent:<16}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}"
                     f"{m['support']:>6}")
    labels = list(r["per_intent"])
    short = [label[:6] for label in labels]
    lines += ["", "confusion (rows: truth, columns: predicted)",
              " " * 16 + "".join(f"{s:>7}" for s in short)]
    for gold in labels:
        row = r["confusion"].get(gold, {})
        lines.append(f"{gold:<16}" + "".join(f"{row.get(p, 0):>7}" for p in labels))
    misses = r.get("misses", [])
    if misses:
        lines += ["", f"misses ({len(misses)}: expected -> understood, the sentence)"]
        lines += [f"{m['lang']}  {m['intent']} -> {m['predicted']}: {m['text']}"
                  for m in misses[:MISSES_SHOWN]]
        if len(misses) > MISSES_SHOWN:
            lines.append(f"… and {len(misses) - MISSES_SHOWN} more (--json lists them all)")
    return "\n".join(lines)
