"""Speech commands: ``ivr asr transcribe`` and ``ivr models install vosk LANG``."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from ivr.audio.frames import AudioClip
from ivr.commands import HELP
from ivr.config import Settings
from ivr.speech.engines import load_recognizer, make_pool
from ivr.speech.settings import SpeechLanguage
from ivr.telephony.prompt_files import read_wav


def cmd_transcribe(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    samples, rate = read_wav(Path(args.file))
    configured = settings.speech.language(args.lang) or SpeechLanguage()
    engine = args.engine or configured.engine or "whisper"
    model = Path(args.model) if args.model else (
        configured.model if configured.engine == engine else None)
    cfg = SpeechLanguage(engine=engine, model=model)
    pool = make_pool(settings.speech)

    async def run() -> Any:
        recognizer = await asyncio.to_thread(load_recognizer, args.lang, cfg, pool,
                                             models_dir=settings.models_dir, max_seconds=600.0)
        return await recognizer.recognize(AudioClip(samples, rate),
                                          phrases=tuple(args.phrase or ()))

    started = time.perf_counter()
    try:
        result = asyncio.run(run())
    finally:
        pool.shutdown()
    seconds = round(time.perf_counter() - started, 3)
    out.result({"text": result.text, "confidence": result.confidence, "engine": result.engine,
                "seconds": seconds, "audio_seconds": round(len(samples) / rate, 3),
                "words": [{"word": w.text, "start": w.start, "end": w.end,
                           "confidence": w.confidence} for w in result.words]},
               result.text)
    return 0


def cmd_models_install(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    from ivr.speech.models import install_vosk

    out.say(f"installing the vosk model for {args.lang} into {settings.models_dir} …")
    path = install_vosk(args.lang, settings.models_dir, sha256=args.sha256)
    out.result({"language": args.lang, "path": str(path)},
               f"{path}\nset in ivr.toml: [speech.languages.\"{args.lang}\"] engine = \"vosk\", "
               f"model = \"{path}\"")
    return 0


def register(sub: Any, add_command: Any) -> None:
    asr = sub.add_parser("asr", help=HELP["asr"])
    asrs = asr.add_subparsers(dest="action", metavar="ACTION", required=True)
    tr = add_command(asrs, "transcribe", cmd_transcribe, "print what a WAV file says",
                     needs_db=False)
    tr.add_argument("file", metavar="FILE.wav")
    tr.add_argument("--engine", choices=["whisper", "vosk"],
                    help="default: the one configured for --lang")
    tr.add_argument("--lang", default="en-US", help="BCP 47 language (default en-US)")
    tr.add_argument("--model", help="model folder (default: configured or packaged)")
    tr.add_argument("--phrase", action="append", help="expected phrase (vosk grammar); repeat")
    models = sub.add_parser("models", help=HELP["models"])
    ms = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    inst = add_command(ms, "install", cmd_models_install,
                       "download an official model (pinned address and SHA-256)", needs_db=False)
    inst.add_argument("engine", choices=["vosk"])
    inst.add_argument("lang", metavar="LANG", help="en-US or zh-CN")
    inst.add_argument("--sha256", help="digest you verified (for models not pinned here)")
