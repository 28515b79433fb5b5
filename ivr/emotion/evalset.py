"""The constructed evaluation set: labelled texts in both languages and espeak-ng voices.

CONSTRUCTED, NOT NATURAL DATA. The texts were written for this project; the audio is
espeak-ng speaking a calm and a distressed rendering (higher pitch, faster, louder) of the
same caller. It checks the scorer's behaviour, it does not measure accuracy on real callers.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from dataclasses import dataclass

import numpy as np

from ivr.audio.frames import AudioClip
from ivr.audio.wav import resample

TEXTS: list[tuple[str, str, str]] = [  # (language, label, text)
    ("en-US", "calm", "Hi, I'd like to check the status of my payment from yesterday."),
    ("en-US", "calm", "Could you tell me what the fees are for an international transfer?"),
    ("en-US", "calm", "Thanks, that answers my question."),
    ("en-US", "calm", "I want to change the phone number on my account."),
    ("en-US", "neutral", "I want to report fraud on my card."),
    ("en-US", "neutral", "My card was lost, I need to block it."),
    ("en-US", "neutral", "Can I speak to an agent please?"),
    ("en-US", "neutral", "Balance."),
    ("en-US", "distressed", "Agent agent agent!"),
    ("en-US", "distressed", "Someone stole all my money, I need help right now please!"),
    ("en-US", "distressed", "This is the fifth time I'm calling, I will complain to the "
                            "regulator."),
    ("en-US", "distressed", "This is ridiculous, damn it, nobody helps me."),
    ("en-US", "distressed", "There's fraud on my account and my rent is due, I'm desperate."),
    ("en-US", "distressed", "Get me a real person now, this is unacceptable!"),
    ("zh-CN", "calm", "你好，我想查一下昨天的付款状态。"),
    ("zh-CN", "calm", "请问国际转账的手续费是多少？"),
    ("zh-CN", "calm", "好的，谢谢你。"),
    ("zh-CN", "calm", "我想修改账户绑定的手机号。"),
    ("zh-CN", "neutral", "我的卡丢了，需要挂失。"),
    ("zh-CN", "neutral", "我要转人工。"),
    ("zh-CN", "distressed", "人工人工人工！"),
    ("zh-CN", "distressed", "我的钱被盗刷了，你们太差劲了，我要投诉！"),
    ("zh-CN", "distressed", "这是第五次打电话了，还是没人解决，我要向监管部门举报。"),
    ("zh-CN", "distressed", "求求你们赶紧帮我，我所有的钱都没了，孩子还在医院。"),
    ("zh-CN", "distressed", "我被骗了，马上帮我冻结账户！"),
]
VOICES = {"en-US": "en-us", "zh-CN": "cmn"}
CALM = {"pitch": 40, "wpm": 150, "amplitude": 60}
DISTRESSED = {"pitch": 85, "wpm": 215, "amplitude": 190}


@dataclass(frozen=True, slots=True)
class Spoken:
    """One constructed turn: text, label and its espeak-ng rendering."""

    language: str
    label: str
    text: str
    audio: AudioClip


def speak(text: str, language: str, *, pitch: int, wpm: int, amplitude: int,
          rate: int = 8000) -> AudioClip:
    """``text`` by espeak-ng at ``pitch`` (0-99), ``wpm`` and ``amplitude`` (0-200), 8 kHz."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    out = subprocess.run([exe, "-v", VOICES[language], "-p", str(pitch), "-s", str(wpm),
                          "-a", str(amplitude), "--stdout", text],
                         capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(out)) as wav:
        src = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.int16)
    return AudioClip(resample(pcm, src, rate), rate)


def spoken_set() -> tuple[list[Spoken], dict[str, AudioClip]]:
    """Every text spoken calm or distressed per its label, plus a calm baseline per language
    (an earlier turn of the same synthetic caller)."""
    out = []
    for language, label, text in TEXTS:
        style = DISTRESSED if label == "distressed" else CALM
        out.append(Spoken(language, label, text, speak(text, language, **style)))
    baselines = {lang: speak(text, lang, **CALM) for lang, text in (
        ("en-US", "I'm calling about my account, I have a question about a payment."),
        ("zh-CN", "你好，我打电话是想问一下我账户里的一笔付款。"))}
    return out, baselines
