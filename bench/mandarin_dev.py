"""The Mandarin DEV set through the shipped recogniser and the call's intent pipeline:
``python -m bench.mandarin_dev [--tsv FILE]``. Levers are tuned here; the bench set
(``python -m bench --only mandarin``) is only for before/after figures.

``--general`` runs the everyday sentences of :mod:`bench.mandarin_general_set` instead (CER,
and the share a call would take as a request: none is one); ``--no-adapter`` hears with
plain Whisper base. Prints CER, intent accuracy on recogniser output (``ivr.flow.intents.answer_as_a_call``,
what ``ivr intents eval`` runs) and CPU per turn as JSON; ``--tsv`` also writes what was heard
as ``lang<TAB>intent<TAB>text`` for ``ivr intents eval FILE --json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from bench.mandarin import ROOT, _batch, _intents, clips
from bench.mandarin_dev_set import SEED_OFFSET, items
from bench.mandarin_general_set import SEED_OFFSET as GENERAL_SEED
from bench.mandarin_general_set import items as general_items


async def run(neural: bool = False, general: bool = False,
              adapter: bool = True) -> dict[str, Any]:
    from ivr.speech.asr import DecodePool
    from ivr.speech.engines import load_recognizer
    from ivr.speech.settings import SpeechSettings

    cfg = SpeechSettings().language("zh-CN")
    assert cfg is not None
    cfg = cfg.model_copy(update={"adapter": adapter})
    pool = DecodePool(1, timeout=60, queue_timeout=600)
    try:
        recognizer = await asyncio.to_thread(load_recognizer, "zh-CN", cfg, pool,
                                             models_dir=ROOT / "var" / "models")
        if general:
            set_ = clips(general_items(), seed=GENERAL_SEED, shift=2, neural=neural)
        else:
            set_ = clips(items(), seed=SEED_OFFSET, shift=1, neural=neural)
        batch = await _batch(recognizer, set_)
    finally:
        pool.shutdown()
    scores = _intents(set_)
    if general:  # every sentence is out of scope: the share a call would take as a request
        scores = {"taken_as_a_request_heard": round(1 - scores["intent_accuracy_heard"], 3),
                  "taken_as_a_request_text": round(1 - scores["intent_accuracy_text"], 3),
                  "intent_model": scores["intent_model"]}
    return {"set": "general" if general else "dev", "adapter": adapter, "clips": len(set_),
            **batch, **scores,
            "heard": [{"text": c["text"], "heard": c["heard"], "intent": c["intent"],
                       "voice": c["voice"]} for c in set_]}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mandarin_dev")
    parser.add_argument("--tsv", type=Path, help="also write what was heard as an eval TSV")
    parser.add_argument("--neural", action="store_true",
                        help="add the two Kokoro test voices, as the bench does")
    parser.add_argument("--general", action="store_true",
                        help="the everyday sentences (bench/mandarin_general_set.py) instead")
    parser.add_argument("--no-adapter", action="store_true",
                        help="plain Whisper base, without the domain adapter")
    args = parser.parse_args()
    result = asyncio.run(run(args.neural, args.general, not args.no_adapter))
    if args.tsv is not None:
        args.tsv.write_text("lang\tintent\ttext\n" + "".join(f"zh-CN\t{h['intent']}\t{h['heard']}\n"
                                    for h in result["heard"]), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
