"""Mandarin speech: CER and intent accuracy on recogniser output, end of speech → final text,
real-time factor and CPU-seconds per turn, start-up time and RSS with both languages.

Audio: :mod:`bench.mandarin_set` (every intent) rendered at bench time in four voices, none
of them the prompts' (``kokoro:jm_kumo``) or ``ivr call``'s (``kokoro:jf_alpha``): espeak-ng
``cmn-latn-pinyin`` ``+f2`` pitch 72 at 150 wpm and ``+m3`` pitch 30 at 175 wpm, and the
Kokoro neural styles ``jf_nezumi`` and ``jf_tebukuro`` (0.95× speed) when the neural extra
is installed; each sentence perturbed in turn (clean; 1.1× speed, pitch ×0.94, 25 dB SNR;
0.92× speed, pitch ×1.06, 20 dB SNR), then 8 kHz G.711 μ-law. Figures are given over all
clips and per family (``cer_espeak``/``cer_neural``, and intent accuracy likewise).

* CER: hanzi only (digits read as hanzi), edit distance over reference length, all clips.
* Intent accuracy: what a call on hotline.yaml's open question makes of the recogniser's
  text (``ivr.flow.intents.answer_as_a_call``, the pipeline of ``ivr intents eval``: the
  language check, spoken keys, the intent model and its reject band); also of the
  reference text.
* CPU per turn: process CPU seconds per decode (one decode at a time, whole clips).
* Latency: clips fed in real time through the streaming listener (VAD, endpointer 600 ms
  end silence, decode started at the 200 ms pause), one decoder thread.
* Start-up: ``ivr serve`` on an empty data folder (hotline dialplan: en-US and zh-CN) until
  /healthz answers, with an empty host-wide prompt cache (``startup_cold_s``: every prompt
  rendered) and then with the cache it filled (``startup_s``); RSS of that process then.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from bench.mandarin_set import PERTURBATIONS, items
from ivr.testing.intelligibility import edit_distance

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "intents" / "current"
FLOOR = ("CER ≤ 12 %, intent accuracy on recogniser output ≥ 90 %, end of speech → final "
         "p95 ≤ 1.5 s, ≤ 2 CPU-s per turn")


def hanzi(text: str) -> str:
    from ivr.speech.say import zh_number

    text = re.sub(r"\d+", lambda m: zh_number(int(m.group())), text)
    return "".join(c for c in text if "\u3400" <= c <= "\u9fff")


def clips(sentences: list[tuple[str, str]] | None = None, *, seed: int = 0,
          shift: int = 0, neural: bool = False) -> list[dict[str, Any]]:
    """The rendered set (``sentences``, default the bench set): intent, text, voice,
    perturbation, 8 kHz μ-law samples. ``seed`` offsets the noise seeds and ``shift`` the
    turn of perturbations (the dev set uses other ones); ``neural`` adds the two Kokoro
    test voices when the neural extra is installed."""
    from ivr.speech import kokoro
    from ivr.testing.mandarin import NEURAL_VOICES, VOICES, perturb, speak, telephone

    voices: list[Any] = list(VOICES[:2])
    if neural and kokoro.installed():
        voices += NEURAL_VOICES
    out = []
    for i, (intent, text) in enumerate(items() if sentences is None else sentences):
        for j, voice in enumerate(voices):
            shape = PERTURBATIONS[(i + j + shift) % len(PERTURBATIONS)]
            audio = perturb(speak(text, voice, rate=16000), 16000, seed=i + seed, **shape)  # type: ignore[arg-type]
            out.append({"intent": intent, "text": text, "voice": voice.name, "shape": shape,
                        "samples": telephone(audio, 16000)})
    return out


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def _batch(recognizer: Any, set_: list[dict[str, Any]]) -> dict[str, Any]:
    from ivr.audio.frames import AudioClip

    errors = chars = 0
    cpu, audio = [], 0.0
    for clip in set_:
        started = time.process_time()
        result = await recognizer.recognize(AudioClip(clip["samples"], 8000))
        cpu.append(time.process_time() - started)
        audio += len(clip["samples"]) / 8000
        clip["heard"] = result.text
        clip["confidence"] = result.confidence
        ref = hanzi(clip["text"])
        errors += edit_distance(ref, hanzi(result.text))
        chars += len(ref)
    return {"cer": round(errors / chars, 3), "cpu_s_per_turn_mean": round(float(np.mean(cpu)), 3),
            "cpu_s_per_turn_p95": round(_p(cpu, 95), 3), "rtf": round(sum(cpu) / audio, 3)}


def _intents(set_: list[dict[str, Any]]) -> dict[str, Any]:
    from ivr.nlu.classifier import IntentClassifier

    if not MODEL.exists():
        from ivr.nlu.train import TrainOptions, train

        train(TrainOptions(ROOT / "models" / "intents" / "data", MODEL.parent))
    from ivr.flow.intents import answer_as_a_call, open_question

    model = IntentClassifier.load(MODEL)
    ask = open_question(ROOT / "dialplans" / "hotline.yaml")
    heard = [answer_as_a_call(model, ask, c["heard"], "zh-CN") == c["intent"] for c in set_]
    said = [answer_as_a_call(model, ask, c["text"], "zh-CN") == c["intent"]
            for c in items_once(set_)]
    return {"intent_accuracy_heard": round(float(np.mean(heard)), 3),
            "intent_accuracy_text": round(float(np.mean(said)), 3), "intent_model": model.version}


def items_once(set_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for clip in set_:
        seen.setdefault(clip["text"], clip)
    return list(seen.values())


async def _latency(recognizer: Any, set_: list[dict[str, Any]], count: int) -> dict[str, Any]:
    from ivr.speech.endpoint import EndpointConfig
    from ivr.speech.listen import SpeechListener
    from ivr.speech.listening import ListenOptions
    from ivr.telephony.call import Prompt
    from ivr.testing.fake_streaming import FakeStreamingCall, Speak

    listener = SpeechListener({"zh-CN": recognizer})
    options = ListenOptions(keys="0123456789*#", endpoint=EndpointConfig(pause=0.2))
    latencies = []
    step = max(1, len(set_) // count)
    for clip in set_[::step][:count]:
        call = FakeStreamingCall(voice_script=[Speak(clip["samples"], after=0.6)], speed=1.0,
                                 prompt_seconds=0.3)
        heard = await listener.ask(call, [Prompt("请说。", "zh-CN", "fake/prompt")], "zh-CN",
                                   options)
        if heard.end_to_final_ms is not None:
            latencies.append(heard.end_to_final_ms / 1000)
    return {"turns_streamed": len(latencies), "eos_to_final_p50_s": round(_p(latencies, 50), 3),
            "eos_to_final_p95_s": round(_p(latencies, 95), 3)}


def _startup() -> dict[str, Any]:
    """``ivr serve`` on an empty data folder, first with an empty host-wide prompt cache
    (every prompt rendered), then again on another empty folder (prompts copied from the
    cache): seconds until /healthz, RSS then."""
    with tempfile.TemporaryDirectory() as cache:
        cold = _serve_once(cache)
        warm = _serve_once(cache)
    return {"startup_cold_s": cold["startup_s"], "startup_s": warm["startup_s"],
            "rss_mb": warm["rss_mb"]}


def _serve_once(shared_cache: str) -> dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "IVR_SPEECH__MODELS_DIR": str(ROOT / "var" / "models"),
               "IVR_PROMPTS__SHARED_CACHE": shared_cache}
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ivr", "--data-dir", data, "serve", "--agi-bind",
             "127.0.0.1:0", "--http-bind", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            seconds = None
            while time.perf_counter() - started < 600 and proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                        seconds = time.perf_counter() - started
                        break
                except OSError:
                    time.sleep(0.2)
            status = Path(f"/proc/{proc.pid}/status").read_text()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        finally:
            proc.terminate()
            proc.wait(30)
    return {"startup_s": round(seconds, 1) if seconds else None, "rss_mb": round(rss)}


async def _run(args: Any) -> dict[str, Any]:
    from ivr.speech.asr import DecodePool
    from ivr.speech.engines import load_recognizer
    from ivr.speech.settings import SpeechSettings

    cfg = SpeechSettings().language("zh-CN")
    assert cfg is not None
    pool = DecodePool(1, timeout=60, queue_timeout=600)  # one decode at a time: one core
    try:
        recognizer = await asyncio.to_thread(load_recognizer, "zh-CN", cfg, pool,
                                             models_dir=ROOT / "var" / "models")
        set_ = clips(neural=True)
        batch = await _batch(recognizer, set_)
        intents = _intents(set_)
        latency = await _latency(recognizer, set_, int(getattr(args, "turns", 0) or 16))
    finally:
        pool.shutdown()
    startup = _startup()
    row = {"engine": "whisper base zh (short window)", "clips": len(set_), **batch, **intents,
           **latency, **startup}
    by_voice = {}
    for voice in sorted({c["voice"] for c in set_}):
        mine = [c for c in set_ if c["voice"] == voice]
        errs = sum(edit_distance(hanzi(c["text"]), hanzi(c["heard"])) for c in mine)
        by_voice[voice] = round(errs / sum(len(hanzi(c["text"])) for c in mine), 3)
    row["cer_by_voice"] = by_voice
    for family, prefix in (("espeak", ("f2", "m3")), ("neural", ("kokoro",))):
        mine = [c for c in set_ if c["voice"].startswith(prefix)]
        if mine:
            errs = sum(edit_distance(hanzi(c["text"]), hanzi(c["heard"])) for c in mine)
            row[f"cer_{family}"] = round(errs / sum(len(hanzi(c["text"])) for c in mine), 3)
            row[f"intent_accuracy_heard_{family}"] = _intents(mine)["intent_accuracy_heard"]
    met = (row["cer"] <= 0.12 and row["intent_accuracy_heard"] >= 0.90
           and row["eos_to_final_p95_s"] <= 1.5 and row["cpu_s_per_turn_p95"] <= 2.0)
    return {"title": "Mandarin speech: CER, intents on recogniser output, latency, CPU",
            "rows": [row], "floor": FLOOR, "floor_met": met,
            "samples": [{"text": c["text"], "heard": c["heard"], "voice": c["voice"],
                         "confidence": c["confidence"]} for c in set_]}


def bench(args: Any) -> dict[str, Any]:
    """``python -m bench --only mandarin``."""
    return asyncio.run(_run(args))
