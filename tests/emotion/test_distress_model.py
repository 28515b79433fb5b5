"""The trained distress model (issue 17): its data splits, its behaviour on new wording in
both languages, bad input, and a scorer that fails or hangs never holding up the call."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from ivr.audio.frames import AudioClip
from ivr.emotion import dataset, tracker
from ivr.emotion.evalset import CALM, speak
from ivr.emotion.model import CUE_NAMES, DistressModel, Featurizer, ModelMissing, cue_vector
from ivr.emotion.policy import DEFAULT_POLICY, decide
from ivr.emotion.scorer import LOW_CONFIDENCE, TrainedScorer
from ivr.emotion.types import NO_EVIDENCE, TurnInput
from ivr.testing.fake_scorers import BrokenScorer, StuckScorer


@pytest.fixture(scope="module")
def examples() -> list[dataset.Example]:
    return dataset.load()


def test_the_heldout_set_is_big_enough_in_both_languages() -> None:
    held = dataset.read_heldout()
    for lang in dataset.LANGS:
        assert sum(1 for h in held if h.language == lang and h.distressed) >= 40
        assert sum(1 for h in held if h.language == lang and not h.distressed) >= 40


def test_no_4gram_of_the_heldout_set_is_in_the_training_data(
        examples: list[dataset.Example]) -> None:
    for lang in dataset.LANGS:
        held: set[str] = set()
        for h in dataset.read_heldout():
            if h.language == lang:
                held |= dataset.grams(h.text, lang)
        shared = {g for e in examples if e.language == lang
                  for g in dataset.grams(e.text, lang) & held}
        assert not shared, sorted(shared)[:10]
    # the check has teeth: a held-out turn itself would share its 4-grams
    h = dataset.read_heldout()[0]
    assert dataset.grams(h.text, h.language)


def test_no_writer_and_no_wording_is_in_two_splits(examples: list[dataset.Example]) -> None:
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    dev = [e for e in examples if e.split == "dev"]
    assert test and train and dev
    assert not {e.writer for e in train} & {e.writer for e in test}
    assert not {e.writer for e in dev} & ({e.writer for e in train} | {e.writer for e in test})
    assert {e.source for e in dev} == {"dev"}  # never trained on: train() reads split "train"
    for lang in dataset.LANGS:
        train_grams = {g for e in train if e.language == lang
                       for g in dataset.grams(e.text, lang)}
        assert not {g for e in test if e.language == lang
                    for g in dataset.grams(e.text, lang)} & train_grams


def test_chinese_turns_are_not_merged_on_their_latin_words(
        examples: list[dataset.Example]) -> None:
    """Every Mandarin turn mentioning the "APP" once counted as one turn (the rest dropped)."""
    app = {e.text for e in examples if e.language == "zh-CN" and e.source == "callers"
           and e.split == "train" and "app" in e.text.lower()}
    assert len(app) >= 10


@pytest.mark.parametrize(("language", "text"), [
    ("en-US", "I've rung you five times this week and nobody has sorted it, I'm sick of it!"),
    ("en-US", "please I'm begging you, some thief emptied my account and I can't feed my kids"),
    ("zh-CN", "我打了好几次电话都没人管，你们到底还管不管了！"),
    ("zh-CN", "求你们快点，我卡里的钱全被人转走了，我现在慌得不行"),
])
def test_distress_in_new_wording_escalates(scorer: TrainedScorer, language: str,
                                           text: str) -> None:
    d = scorer.score(TurnInput(language, text))
    assert decide(DEFAULT_POLICY, [d]), (d.score, d.confidence)
    assert d.reasons and d.signals["words"] >= 0.7


@pytest.mark.parametrize(("language", "text"), [
    ("en-US", "Hi, my bank card seems to have gone missing, could you cancel it? No hurry."),
    ("en-US", "Could you tell me when my refund should show up?"),
    ("zh-CN", "你好，我的银行卡好像不见了，麻烦帮我挂失，不用着急。"),
    ("zh-CN", "请问退款一般几天能到账？"),
])
def test_calm_turns_even_with_alarming_words_do_not_escalate(
        scorer: TrainedScorer, language: str, text: str) -> None:
    d = scorer.score(TurnInput(language, text))
    assert not decide(DEFAULT_POLICY, [d]), (d.score, d.reasons)


@pytest.mark.parametrize(("language", "first", "then"), [
    ("en-US", "Could I talk to someone from customer support?", "a real person please"),
    ("zh-CN", "你好，我想找人工客服", "人工客服"),
    ("zh-CN", "能不能帮我转接一下人工", "麻烦转人工，谢谢"),
])
async def test_a_calm_caller_asking_for_a_person_is_not_sent_to_the_senior_agents(
        scorer: TrainedScorer, language: str, first: str, then: str) -> None:
    """Asking for a person, and asking once more after a no-match, is a preference: the
    caller reaches the agent queue with everybody else, not ahead of distressed callers."""
    scorer.score(TurnInput(language, first))  # loaded: no turn below goes unscored
    calls = tracker.DistressTracker(scorer)
    for text in (first, then):
        scored = await calls.observe(TurnInput(language, text), DEFAULT_POLICY)
        assert scored.distress.confidence >= DEFAULT_POLICY.min_confidence  # it was heard
        assert not scored.escalate, (text, scored.distress.score, scored.escalate)


@pytest.mark.parametrize(("language", "text"), [
    ("en-US", ""), ("en-US", "   \n\t "), ("zh-CN", "…!?"), ("en-US", "\x00\x07\ud800"),
    ("en-US", "I hate this useless bank! " * 250),            # very long
    ("zh-CN", "我要投诉你们！" * 200),                         # very long
    ("en-US", "你们太差劲了，我要投诉"),                        # another language's script
    ("zh-CN", "I want to 投诉 the bank, 太差了 really bad"),    # mixed
])
def test_bad_text_gets_a_low_confidence_score_never_an_exception(
        scorer: TrainedScorer, language: str, text: str) -> None:
    d = scorer.score(TurnInput(language, text))
    assert 0.0 <= d.score <= 1.0
    assert d.confidence <= LOW_CONFIDENCE
    assert not decide(DEFAULT_POLICY, [d])


def test_bad_audio_gets_a_low_confidence_score(scorer: TrainedScorer) -> None:
    rng = np.random.default_rng(3)
    silence = AudioClip(np.zeros(16000, dtype=np.int16), 8000)
    hiss = AudioClip((rng.normal(0, 30, 16000)).astype(np.int16), 8000)
    spoken = speak("where is my money", "en-US", **CALM)
    clipped = AudioClip(np.clip(spoken.samples.astype(np.int32) * 40, -32768, 32767)
                        .astype(np.int16), spoken.rate)
    tiny = AudioClip(np.zeros(5, dtype=np.int16), 8000)
    for clip in (silence, hiss, clipped, tiny, AudioClip(np.zeros(0, dtype=np.int16), 0)):
        d = scorer.score(TurnInput("en-US", None, clip))
        assert d.confidence <= LOW_CONFIDENCE + 0.01 or d.score < DEFAULT_POLICY.above
        assert not decide(DEFAULT_POLICY, [d])


def test_a_model_built_for_another_feature_layout_asks_to_be_rebuilt(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text('{"format": 1, "version": "old", "heads": {}}')
    with pytest.raises(ModelMissing, match="ivr emotion train"):
        DistressModel.load(tmp_path)


def test_negated_worry_counts_as_calm_framing_not_as_affect() -> None:
    calm, affect = len(CUE_NAMES), len(CUE_NAMES) + 1
    worried = cue_vector("我很慌，怕钱没了", "zh-CN")
    unworried = cue_vector("我不慌，也不怕，慢慢查", "zh-CN")
    assert worried[affect] == 2 and unworried[affect] == 0
    assert unworried[calm] > worried[calm]


def test_the_chinese_words_the_model_reads_do_not_depend_on_what_else_ran() -> None:
    """The speech module teaches jieba's shared dictionary its own words; the distress model
    segments with its own tokenizer, so a turn scores the same before and after a prompt."""
    import jieba

    from ivr.speech.pinyin import _segmenter

    featurizer = Featurizer()
    before = featurizer.word_vector("重拨一下吧")
    _segmenter()
    assert "重拨" in jieba.lcut("重拨一下吧", HMM=False)  # the shared one learnt the word
    assert "重拨" not in featurizer.segmenter().lcut("重拨一下吧", HMM=False)
    assert np.array_equal(before, featurizer.word_vector("重拨一下吧"))


def test_a_broken_model_gives_no_evidence_not_an_exception() -> None:
    broken = TrainedScorer(DistressModel({"heads": {}}))  # no head for any language
    assert broken.score(TurnInput("en-US", "where is my money")) == NO_EVIDENCE


async def test_a_failing_or_stuck_scorer_never_delays_the_call(
        monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tracker.DistressTracker(BrokenScorer())
    scored = await broken.observe(TurnInput("en-US", "agent agent agent"), DEFAULT_POLICY)
    assert scored.distress == NO_EVIDENCE and scored.escalate == []
    monkeypatch.setattr(tracker, "SCORE_TIMEOUT", 0.2)
    stuck_scorer = StuckScorer()
    stuck = tracker.DistressTracker(stuck_scorer)
    try:
        scored = await stuck.observe(TurnInput("en-US", "hello"), DEFAULT_POLICY)
        # the call went on while the scorer was still stuck
        assert stuck_scorer.started.is_set() and not stuck_scorer.released.is_set()
        assert scored.distress == NO_EVIDENCE
    finally:
        stuck_scorer.release()
        await asyncio.sleep(0)
