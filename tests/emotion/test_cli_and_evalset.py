"""`ivr emotion score` and the constructed evaluation set's floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.emotion.evalset import CALM, DISTRESSED, speak
from ivr.emotion.evaluation import evaluate
from ivr.telephony.prompt_files import write_wav


def test_score_json_from_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--data-dir", str(tmp_path), "emotion", "score", "--text", "人工人工人工",
                 "--lang", "zh-CN", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["escalate"] is True and 0.7 <= doc["score"] <= 1
    assert doc["signals"]["agent_repeat"] == 1.0 and doc["confidence"] >= 0.5


def test_score_json_from_audio_with_a_baseline(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    text = "where did my payment go"
    for name, style in (("calm.wav", CALM), ("upset.wav", DISTRESSED)):
        clip = speak(text, "en-US", **style)
        write_wav(tmp_path / name, clip.samples, clip.rate)
    assert main(["--data-dir", str(tmp_path), "emotion", "score", "--wav",
                 str(tmp_path / "upset.wav"), "--baseline", str(tmp_path / "calm.wav"),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["baseline"] is True and doc["signals"]["pitch_st"] > 3
    assert 0 <= doc["score"] <= 1 and isinstance(doc["escalate"], bool)


def test_constructed_set_meets_the_floors() -> None:
    result = evaluate()
    assert result["recall"] >= 0.8
    assert result["false_escalations_per_100_calm"] <= 5
