"""``ivr emotion score``: score one caller turn from text, audio or both (the trained model);
``ivr emotion train``: train that model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ivr.audio.frames import AudioClip
from ivr.commands import HELP
from ivr.commands.progress import stage_bars
from ivr.config import Settings
from ivr.emotion import prosody
from ivr.emotion.model import MODEL_DIR, DistressModel, ModelMissing
from ivr.emotion.policy import DEFAULT_POLICY, decide
from ivr.emotion.scorer import TrainedScorer
from ivr.emotion.types import TurnInput
from ivr.telephony.prompt_files import read_wav


def cmd_score(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    if args.text is None and args.wav is None:
        out.say("give --text, --wav or both")
        return 2
    try:
        audio = AudioClip(*read_wav(Path(args.wav))) if args.wav else None
        base = AudioClip(*read_wav(Path(args.baseline))) if args.baseline else None
    except (OSError, ValueError) as err:
        out.say(f"cannot read audio: {err}")
        return 2
    earlier = [p] if base is not None and (p := prosody.features(base)) is not None else []
    try:
        model = DistressModel.load(args.model or MODEL_DIR)
    except ModelMissing as err:
        out.say(f"{err} (make run and make test build it)")
        return 2
    distress = TrainedScorer(model).score(TurnInput(args.lang, args.text, audio), earlier)
    escalate = bool(decide(DEFAULT_POLICY, [distress]))
    doc = {"score": distress.score, "escalate": escalate, "confidence": distress.confidence,
           "signals": distress.signals, "reasons": list(distress.reasons),
           "baseline": bool(earlier), "model": model.version}
    human = (f"distress {distress.score:.2f} (confidence {distress.confidence:.2f})"
             f"{' → escalate' if escalate else ''}"
             + "".join(f"\n  {r}" for r in distress.reasons))
    out.result(doc, human)
    return 0


def cmd_train(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    from ivr.emotion import dataset, model

    examples = dataset.load(args.data, args.intent_data)
    if not examples:
        out.say(f"no training data in {args.data}")
        return 2
    with stage_bars() as progress:
        summary = model.train(examples, args.out, progress)
    out.result(summary, f"trained distress model {summary['version']} in "
               f"{summary['training_seconds']:.0f} s → {args.out}/model.json; dev folds: "
               + ", ".join(f"{lang} AUC {r['cv_auc_callers']:.3f}"
                           for lang, r in summary["report"].items()))
    return 0


def register(sub: Any, add_command: Any) -> None:
    emotion = sub.add_parser("emotion", help=HELP["emotion"])
    actions = emotion.add_subparsers(dest="action", metavar="ACTION", required=True)
    score = add_command(actions, "score", cmd_score, "score one caller turn for distress",
                        needs_db=False)
    score.add_argument("--text", help="what the caller said")
    score.add_argument("--wav", metavar="FILE.wav", help="the caller's audio for this turn")
    score.add_argument("--baseline", metavar="FILE.wav",
                       help="an earlier calm turn of the same caller (relative prosody)")
    score.add_argument("--lang", default="en-US", choices=["en-US", "zh-CN"])
    score.add_argument("--model", type=Path, metavar="DIR",
                       help="trained distress model (default models/distress/current)")
    from ivr.emotion.dataset import DATA_DIR, INTENT_DATA
    from ivr.emotion.model import MODEL_DIR

    train = add_command(actions, "train", cmd_train, "train the distress text model from "
                        "models/distress/data", needs_db=False)
    train.add_argument("--data", type=Path, default=DATA_DIR, metavar="DIR")
    train.add_argument("--intent-data", type=Path, default=INTENT_DATA, metavar="DIR")
    train.add_argument("--out", type=Path, default=MODEL_DIR, metavar="DIR",
                       help="where model.json goes (default models/distress/current)")
