"""The Mandarin training data as the recogniser hears it (``models/intents/heard/``) and its
sound-alike copies: honest about where rows come from, and never a measured sentence."""

from __future__ import annotations

import csv
import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

from bench.mandarin_dev_set import items as dev_items
from bench.mandarin_set import items as bench_items
from ivr.nlu.dataset import read_split
from ivr.nlu.text import fuzzy_syllable, pinyin_syllables

ROOT = Path(__file__).resolve().parents[2]
INTENTS = ROOT / "models" / "intents"


def _build_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_data", INTENTS / "build_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_data", module)
    spec.loader.exec_module(module)
    return module


def _heard() -> list[dict[str, str]]:
    with (INTENTS / "heard" / "zh-CN.tsv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_heard_rows_come_from_training_and_validation_cores_only() -> None:
    splits = _build_data().core_splits("zh-CN")
    rows = _heard()
    assert len(rows) > 500
    assert {splits.get((r["intent"], r["core"])) for r in rows} <= {"train", "validation"}
    measured = {text for _intent, text in bench_items() + dev_items()}
    assert not measured & {r["core"] for r in rows}


def test_generated_rows_are_in_the_data_and_never_of_a_bench_or_dev_sentence() -> None:
    build = _build_data()
    trained = {r.text for split in ("train", "validation") for r in read_split(
        INTENTS / "data", split) if r.lang == "zh-CN"}
    kept = [r for r in _heard() if build.cer(r["core"], r["heard"]) <= build.MAX_HEARD_CER]
    assert kept and all(r["heard"] in trained for r in kept if r["heard"] != r["core"])
    measured = [text for _intent, text in bench_items() + dev_items()]
    rows = [("refund", f"喂{measured[0]}谢谢"), ("balance", "我想查一下我的账户余额")]
    assert [intent for intent, _text in build.homophone_rows("zh-CN", rows)] == ["balance"]


def test_sound_alike_copies_sound_the_same() -> None:
    build = _build_data()
    rng = random.Random(1)
    text = "我想查一下我的账户余额还有多少"
    copies = {build.sound_alike(text, rng, share=0.5) for _ in range(20)}
    assert len(copies) > 5  # characters really change
    want = [fuzzy_syllable(s) for s in pinyin_syllables(text)]
    for copy in copies:
        assert len(copy) == len(text)
        assert [fuzzy_syllable(s) for s in pinyin_syllables(copy)] == want, copy


def test_no_bench_or_dev_sentence_is_a_training_phrase_or_row() -> None:
    """The Mandarin bench and dev accuracies are only honest when the model never saw the
    sentences they measure, in the phrases or in any split's rows."""
    phrases = {line.strip() for line in
               (INTENTS / "phrases" / "zh-CN.txt").read_text(encoding="utf-8").splitlines()}
    rows = {r.text for split in ("train", "validation", "test")
            for r in read_split(INTENTS / "data", split) if r.lang == "zh-CN"}
    measured = {text for _intent, text in bench_items() + dev_items()}
    assert not measured & phrases
    assert not measured & rows
