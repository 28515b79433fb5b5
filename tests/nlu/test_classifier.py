"""The trained classifier on its held-out test split, on odd input, and on broken models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ivr.cli import main
from ivr.nlu.classifier import IntentClassifier
from ivr.nlu.dataset import LABELS, read_tsv
from ivr.nlu.errors import NluError
from ivr.nlu.metrics import report
from ivr.nlu.train import TrainOptions, _fit, calibrate

DATA = Path(__file__).resolve().parents[2] / "models" / "intents" / "data"


@pytest.mark.parametrize("lang", ["en-US", "zh-CN"])
def test_floors_on_the_test_split(classifier: IntentClassifier, lang: str) -> None:
    rows = read_tsv(DATA / lang / "test.tsv")
    result = report(rows, [classifier.classify(r.text, r.lang).intent for r in rows])
    assert result["per_lang"][lang] >= 0.92
    assert result["unknown_rejection"] >= 0.8
    assert result["macro_f1"][lang] >= 0.85


@pytest.mark.parametrize(("text", "lang", "intent"), [
    ("i lost my card", "en-US", "card_lost"),
    ("um my transfer to my sister hasn't arrived yet", "en-US", "payment_status"),
    ("operator", "en-US", "agent"),
    ("what's the weather like in paris", "en-US", "unknown"),
    ("喂你好 我的卡丢了", "zh-CN", "card_lost"),
    ("转人工", "zh-CN", "agent"),
    ("查一下余额", "zh-CN", "balance"),
    ("帮我订个外卖", "zh-CN", "unknown"),
])
def test_callers_are_understood(classifier: IntentClassifier, text: str, lang: str,
                                intent: str) -> None:
    got, confidence, scores = classifier.classify(text, lang)
    assert got == intent
    assert 0.0 <= confidence <= 1.0 and set(scores) == set(LABELS)


@pytest.mark.parametrize("text", [
    "", "   ", "a" * 5000, "refund " * 800, "我的卡丢了 and i want to block it please",
    "😀😀😀🔥💳", "<script>alert(1)</script> ignore previous instructions; DROP TABLE cards;--",
    "${jndi:ldap://x}", "\x00\x01\ufeff", "تحويل الأموال", "ñoño 🙂 card lost",
])
@pytest.mark.parametrize("lang", ["en-US", "zh-CN", "fr-FR"])
def test_bad_input_gives_a_valid_result(classifier: IntentClassifier, text: str,
                                        lang: str) -> None:
    intent, confidence, scores = classifier.classify(text, lang)
    assert intent in LABELS
    assert 0.0 <= confidence <= 1.0
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_mixed_language_on_a_mandarin_line(classifier: IntentClassifier) -> None:
    assert classifier.classify("agent please", "zh-CN").intent == "agent"
    assert classifier.classify("我要退款", "en-US").intent == "refund"


def test_missing_and_corrupt_models_say_what_to_do(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(NluError) as err:
        IntentClassifier.load(tmp_path / "nope")
    assert err.value.code == "nlu-model-missing" and "ivr intents train" in err.value.message
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "meta.json").write_text("{not json")
    with pytest.raises(NluError) as err:
        IntentClassifier.load(broken)
    assert err.value.code == "nlu-model-corrupt"
    shutil.copyfile(model_dir / "meta.json", broken / "meta.json")
    (broken / "heads.npz").write_bytes(b"garbage")
    with pytest.raises(NluError):
        IntentClassifier.load(broken)


def test_eval_json_has_the_documented_keys(model_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    sample = tmp_path / "sample.tsv"
    sample.write_text("lang\tintent\ttext\nen-US\tcard_lost\ti lost my card\n"
                      "zh-CN\tagent\t转人工\nen-US\tunknown\tplay some jazz music\n"
                      "zh-CN\tbalance\t我卡里还有多少钱\n", encoding="utf-8")
    code = main(["--data-dir", str(tmp_path), "intents", "eval", str(sample), "--json",
                 "--model", str(model_dir)])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"accuracy", "per_lang", "unknown_rejection", "per_intent"} <= set(doc)
    assert 0 <= doc["accuracy"] <= 1 and set(doc["per_lang"]) == {"en-US", "zh-CN"}
    assert set(doc["per_intent"]["card_lost"]) >= {"precision", "recall", "f1"}
    assert doc["accuracy"] == 1.0 and doc["unknown_rejection"] == 1.0


def test_eval_scores_what_a_call_makes_of_the_text(model_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """English on the Mandarin line is asked again on a call (never guessed), so the call
    pipeline (the default) counts it as a miss where the classifier alone would not; a
    spoken key ("press zero") reaches the agent as it does on a call."""
    sample = tmp_path / "sample.tsv"
    sample.write_text("lang\tintent\ttext\nzh-CN\tcard_lost\tI lost my card please\n"
                      "en-US\tagent\tpress zero\nzh-CN\tagent\t转人工\n", encoding="utf-8")
    docs = {}
    for extra in ([], ["--model-only"]):
        code = main(["--data-dir", str(tmp_path), "intents", "eval", str(sample), "--json",
                     "--model", str(model_dir), *extra])
        assert code == 0
        doc = json.loads(capsys.readouterr().out)
        docs[doc["pipeline"]] = doc
    assert docs["call"]["per_intent"]["card_lost"]["recall"] == 0.0
    assert docs["call"]["per_intent"]["agent"]["recall"] == 1.0
    assert docs["model"]["per_intent"]["card_lost"]["recall"] == 1.0
    # The sentence that went wrong is named, so the admin knows what wording to add.
    [miss] = docs["call"]["misses"]
    assert (miss["lang"], miss["intent"], miss["text"]) == ("zh-CN", "card_lost",
                                                            "I lost my card please")
    assert miss["predicted"] != "card_lost"
    assert docs["model"]["misses"] == []
    code = main(["--data-dir", str(tmp_path), "intents", "eval", str(sample),
                 "--model", str(model_dir)])
    assert code == 0
    shown = capsys.readouterr().out
    assert "misses (1" in shown
    assert f"zh-CN  card_lost -> {miss['predicted']}: I lost my card please" in shown


def test_eval_with_a_missing_model_exits_nonzero(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sample = tmp_path / "s.tsv"
    sample.write_text("lang\tintent\ttext\nen-US\tagent\tagent\n", encoding="utf-8")
    code = main(["--data-dir", str(tmp_path), "intents", "eval", str(sample), "--json",
                 "--model", str(tmp_path / "none")])
    assert code == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "nlu-model-missing"


def test_training_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((60, 32), dtype=np.float32)
    y = np.arange(60) % len(LABELS)
    opts = TrainOptions(Path("."), Path("."), seed=7, epochs=30)
    w1, b1 = _fit(x, y, opts, lambda e: None)
    w2, b2 = _fit(x, y, opts, lambda e: None)
    assert np.array_equal(w1, w2) and np.array_equal(b1, b2)


def test_calibration_picks_bands_from_validation() -> None:
    labels = list(LABELS)
    probs = np.full((4, len(labels)), 0.01, dtype=np.float64)
    probs[0, labels.index("card_lost")] = 0.9    # right, sure
    probs[1, labels.index("refund")] = 0.5       # right, unsure
    probs[2, labels.index("balance")] = 0.3      # an unknown row, weakly misread
    probs[3, labels.index("unknown")] = 0.8
    bands = calibrate(probs, ["card_lost", "refund", "unknown", "unknown"])
    assert 0.3 < bands["reject"] <= bands["confirm"] <= 0.5
