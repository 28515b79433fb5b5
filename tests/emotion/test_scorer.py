"""Distress scores callers would notice: clear distress escalates, calm and junk never do."""

from __future__ import annotations

import numpy as np
import pytest

from ivr.audio.frames import AudioClip
from ivr.emotion import prosody
from ivr.emotion.evalset import CALM, DISTRESSED, speak
from ivr.emotion.policy import DEFAULT_POLICY, decide
from ivr.emotion.scorer import CueScorer
from ivr.emotion.types import TurnInput
from ivr.testing.speech_audio import noise, silence

SCORER = CueScorer()


def escalates(turn: TurnInput, earlier: tuple[prosody.Prosody, ...] = ()) -> bool:
    return bool(decide(DEFAULT_POLICY, [SCORER.score(turn, earlier)]))


@pytest.mark.parametrize(("language", "text"), [
    ("en-US", "agent agent agent"),
    ("zh-CN", "人工人工人工"),
    ("en-US", "This is the fifth time I call, I will complain to the regulator!"),
    ("zh-CN", "我的钱被盗刷了，你们太差劲了，我要投诉"),
    ("en-US", "Someone stole all my money and my kids need food, help me right now"),
])
def test_clear_distress_in_words_alone_escalates(language: str, text: str) -> None:
    d = SCORER.score(TurnInput(language, text))
    assert d.score >= 0.7 and d.confidence >= 0.5 and d.reasons
    assert escalates(TurnInput(language, text))


@pytest.mark.parametrize(("language", "text"), [
    ("en-US", "I'd like to check the status of my payment please"),
    ("en-US", "I want to report fraud on my card"),  # an intent, routed by the dialplan
    ("en-US", "agent"),  # one request is a preference
    ("zh-CN", "我想查一下付款状态"),
    ("zh-CN", "转人工"),
])
def test_calm_or_plain_requests_do_not_escalate(language: str, text: str) -> None:
    assert not escalates(TurnInput(language, text))


@pytest.mark.parametrize("text", ["", "hello", "我的钱被盗刷了我要投诉", "¿dónde está mi dinero?"])
def test_no_evidence_is_neutral_with_low_confidence(text: str) -> None:
    d = SCORER.score(TurnInput("en-US", text))
    assert d.score <= 0.3 and d.confidence < 0.5
    assert not escalates(TurnInput("en-US", text))


@pytest.fixture(scope="module")
def baseline() -> prosody.Prosody:
    feats = prosody.features(speak("I'm calling about a payment on my account.", "en-US",
                                   **CALM))
    assert feats is not None
    return feats


def test_a_raised_voice_scores_higher_than_the_callers_calm_voice(
        baseline: prosody.Prosody) -> None:
    text = "I need to know where my payment went"
    calm = SCORER.score(TurnInput("en-US", None, speak(text, "en-US", **CALM)), (baseline,))
    upset = SCORER.score(TurnInput("en-US", None, speak(text, "en-US", **DISTRESSED)),
                         (baseline,))
    assert upset.score >= calm.score + 0.3
    assert upset.signals["pitch_st"] > 3 and upset.signals["loudness_db"] > 5
    assert any("earlier turns" in r for r in upset.reasons)


@pytest.mark.parametrize("audio", [
    silence(3.0), noise(3.0, dbfs=-10),
    np.clip(np.sin(np.arange(24000) * 2 * np.pi * 440 / 8000) * 40000, -32768, 32767
            ).astype(np.int16),  # a clipped tone: music on hold at its worst
    speak("yes", "en-US", **CALM).samples,  # a single word
])
def test_bad_audio_never_escalates(audio: np.ndarray, baseline: prosody.Prosody) -> None:
    for earlier in ((), (baseline,)):
        turn = TurnInput("en-US", None, AudioClip(audio, 8000))
        d = SCORER.score(turn, earlier)
        assert 0.0 <= d.score <= 1.0
        assert not escalates(turn, earlier)


def test_clipped_loud_speech_is_not_trusted_for_loudness(baseline: prosody.Prosody) -> None:
    clip = speak("I need to know where my payment went", "en-US", **CALM)
    loud = AudioClip(np.clip(clip.samples.astype(np.int32) * 20, -32768, 32767
                             ).astype(np.int16), 8000)
    assert not escalates(TurnInput("en-US", None, loud), (baseline,))
