"""The flow's ``Understander`` backed by the intent classifier and the entity extractor.

Explicit phrases of a question still win when they appear whole ("agent", "press one"); for
choices that are intent ids the classifier decides, with its probability as the score, and
the entities found travel along in the ``Match``.

Mandarin transcripts the classifier cannot place are *heard again by sound*: the recogniser
writes near-homophones of the hotline's words (余额 → 如何, 账户 → 长虎), so a span that
sounds like a vocabulary word (:mod:`ivr.speech.zh_vocabulary`) is replaced by it and the
result classified. Such a reading scores its probability times how alike it sounds, never
above the confirm band: the caller is asked "您是说…吗？" before it is acted on. ``ivr intents
eval`` runs this same step (it calls this understander).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

from ivr.nlu.api import INTENT_IDS, Match
from ivr.nlu.classifier import IntentClassifier, IntentResult
from ivr.nlu.dataset import UNKNOWN
from ivr.nlu.entities import extract
from ivr.nlu.phrases import PhraseMatcher

_LOG = logging.getLogger(__name__)
SOUND_FLOOR, SOUND_TOP = 0.55, 3
"""Readings by sound: vocabulary words sounding at least this alike, this many readings."""
SOUND_MAX_UNKNOWN = 0.5
"""Only a transcript the model finds at most this likely out of scope is heard again by sound:
otherwise 明天会不会下雨 would be a balance enquiry. Tuned on the Mandarin dev set
(``python -m bench.mandarin_dev``) with the intent test split as the guard: these values
leave its accuracy and out-of-scope rejection as they were (93.2 %); a floor of 0.5 made
我不知道 a complaint."""


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
            if (result.intent == UNKNOWN and language.startswith("zh")
                    and result.scores.get(UNKNOWN, 0.0) <= SOUND_MAX_UNKNOWN):
                result = self.by_sound(text, language) or result
        except Exception:  # a model bug must not cost the caller the question
            _LOG.exception("nlu-classify-failed")
            return phrase
        if result.intent in choices:
            return Match(result.intent, result.confidence, extract(text, language, date.today()))
        return phrase

    def by_sound(self, text: str, language: str) -> IntentResult | None:
        """The likeliest intent of ``text`` with one span replaced by a vocabulary word it
        sounds like (at most :data:`SOUND_TOP` readings): probability × likeness, kept at or
        above the reject threshold and capped just under the confirm threshold; None when no
        reading reaches the reject threshold."""
        from ivr.nlu.text import clean
        from ivr.speech.zh_vocabulary import replacements

        reject, confirm = self.classifier.bands(language)
        best: IntentResult | None = None
        for variant, alike in replacements(clean(text).replace(" ", ""), floor=SOUND_FLOOR,
                                           top=SOUND_TOP):
            result = self.classifier.classify(variant, language)
            if result.intent == UNKNOWN:
                continue
            score = result.confidence * alike.score
            if score >= reject and (best is None or score > best.confidence):
                best = IntentResult(result.intent, round(min(score, max(reject, confirm - 0.01)), 4),
                                    result.scores)
        return best

    def bands(self, language: str) -> tuple[float, float]:
        return self.classifier.bands(language)
