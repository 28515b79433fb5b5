"""The Mandarin DEV set through the shipped recogniser and the call's intent pipeline:
``python -m bench.mandarin_dev [--tsv FILE]``. Levers are tuned here; the bench set
(``python -m bench --only mandarin``) is only for before/after figures.

Prints CER, intent accuracy on recogniser output (``ivr.flow.intents.answer_as_a_call``,
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


async def run(neural: bool = False) -> dict[str, Any]:
    from ivr.speech.asr import DecodePool
    from ivr.speech.engines import load_recognizer
    from ivr.speech.settings import SpeechSettings

    cfg = SpeechSettings().language("zh-CN")
    assert cfg is not None
    pool = DecodePool(1, timeout=60, queue_timeout=600)
    try:
        recognizer = await asyncio.to_thread(load_recognizer, "zh-CN", cfg, pool,
                                             models_dir=ROOT / "var" / "models")
        set_ = clips(items(), seed=SEED_OFFSET, shift=1, neural=neural)
        batch = await _batch(recognizer, set_)
    finally:
        pool.shutdown()
    return {"set": "dev", "clips": len(set_), **batch, **_intents(set_),
            "heard": [{"text": c["text"], "heard": c["heard"], "intent": c["intent"],
                       "voice": c["voice"]} for c in set_]}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mandarin_dev")
    parser.add_argument("--tsv", type=Path, help="also write what was heard as an eval TSV")
    parser.add_argument("--neural", action="store_true",
                        help="add the two Kokoro test voices, as the bench does")
    args = parser.parse_args()
    result = asyncio.run(run(args.neural))
    if args.tsv is not None:
        args.tsv.write_text("lang\tintent\ttext\n" + "".join(f"zh-CN\t{h['intent']}\t{h['heard']}\n"
                                    for h in result["heard"]), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
