"""The flow's ``Understander`` backed by the intent classifier and the entity extractor.

Explicit phrases of a question still win when they appear whole ("agent", "press one"); for
choices that are intent ids the classifier decides, with its probability as the score, and
the entities found travel along in the ``Match``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

from ivr.nlu.api import INTENT_IDS, Match
from ivr.nlu.classifier import IntentClassifier
from ivr.nlu.entities import extract
from ivr.nlu.phrases import PhraseMatcher

_LOG = logging.getLogger(__name__)


class IntentUnderstander:
    """``match`` for the flow: phrases first, then the intent model."""

    def __init__(self, classifier: IntentClassifier, phrases: PhraseMatcher | None = None) -> None:
        self.classifier = classifier
        self.phrases = phrases or PhraseMatcher()

    def match(self, text: str, choices: Mapping[str, Sequence[str]], language: str,
              keys: Mapping[str, str] | None = None) -> Match | None:
        worded = {c: p for c, p in choices.items() if p}
        phrase = self.phrases.match(text, worded, language, keys) if worded or keys else None
        if phrase is not None and phrase.score >= 1.0:
            return phrase
        if not any(c in INTENT_IDS for c in choices):
            return phrase
        try:
            result = self.classifier.classify(text, language)
        except Exception:  # a model bug must not cost the caller the question
            _LOG.exception("nlu-classify-failed")
            return phrase
        if result.intent in choices:
            return Match(result.intent, result.confidence, extract(text, language, date.today()))
        return phrase

    def bands(self, language: str) -> tuple[float, float]:
        return self.classifier.bands(language)
