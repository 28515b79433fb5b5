"""Plain requests are not distress: a caller asking "how much money is in my account?" is
served, not sent to senior agents; a distressed caller still escalates. The real trained
model (``make test`` builds it) on calm requests it never trained on
(models/distress/data/requests_dev.tsv)."""

from __future__ import annotations

import pytest

from ivr.emotion import dataset
from ivr.emotion.evaluation import calm_requests
from ivr.emotion.policy import DEFAULT_POLICY, decide
from ivr.emotion.scorer import TrainedScorer
from ivr.emotion.types import TurnInput


def escalates(scorer: TrainedScorer, language: str, text: str) -> bool:
    return bool(decide(DEFAULT_POLICY, [scorer.score(TurnInput(language, text))]))


@pytest.mark.parametrize("language", dataset.LANGS)
def test_calm_requests_never_trained_on_mostly_stay_in_self_service(
        scorer: TrainedScorer, language: str) -> None:
    requests = calm_requests(language)["dev"]
    assert len(requests) >= 50  # none dropped as a training turn's or held-out wording
    escalated = [t for t in requests if escalates(scorer, language, t)]
    assert len(escalated) <= 0.05 * len(requests), escalated


def test_the_requests_dev_set_is_never_trained_on() -> None:
    examples = dataset.load()
    requests = [e for e in examples if e.split == "requests"]
    assert {e.source for e in requests} == {"dev"} and all(e.weight == 0 for e in requests)
    trained = {(e.language, dataset._dedup_key(e.text)) for e in examples
               if e.split == "train"}
    assert not {(e.language, dataset._dedup_key(e.text)) for e in requests} & trained


@pytest.mark.parametrize(("language", "text"), [
    ("en-US", "How much money is in my account?"),
    ("en-US", "How much money do I have left"),
    ("en-US", "unlock my account"),
    ("en-US", "login problems"),
    ("en-US", "my pin is blocked"),
    ("en-US", "I lost my card"),
    ("zh-CN", "我要退款"),
    ("zh-CN", "我的钱还剩多少"),
    ("zh-CN", "我的钱有多少"),
    ("zh-CN", "为什么我的转账被退回了"),
])
def test_the_requests_callers_were_escalated_for_are_served(
        scorer: TrainedScorer, language: str, text: str) -> None:
    d = scorer.score(TurnInput(language, text))
    assert not decide(DEFAULT_POLICY, [d]), (d.score, d.confidence, d.reasons)


@pytest.mark.parametrize(("language", "text"), [
    ("en-US", "This is the third time I'm calling, I want my money back now!"),
    ("en-US", "Someone emptied my account, I'm panicking, my rent is due tomorrow!"),
    ("en-US", "agent agent agent"),
    ("zh-CN", "我已经打了三次电话了，马上把钱退给我！"),
    ("zh-CN", "钱被人转走了，我急死了，你们快点帮我！"),
    ("zh-CN", "人工 人工 转人工"),
])
def test_short_distressed_turns_still_escalate(scorer: TrainedScorer, language: str,
                                               text: str) -> None:
    d = scorer.score(TurnInput(language, text))
    assert decide(DEFAULT_POLICY, [d]) and d.signals["words"] >= 0.7, (d.score, d.confidence)


@pytest.mark.parametrize(("language", "word"), [
    ("en-US", "fraud"), ("en-US", "help"), ("en-US", "refund"), ("zh-CN", "退款"),
    ("zh-CN", "垃圾"), ("zh-CN", "救命")])
def test_one_word_is_too_little_to_escalate_on(scorer: TrainedScorer, language: str,
                                               word: str) -> None:
    # Bad input by the documented rule (docs/emotion.md): low confidence, whatever the score.
    distress = scorer.score(TurnInput(language, word))
    assert distress.confidence <= 0.4
    assert not escalates(scorer, language, word)
