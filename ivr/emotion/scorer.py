"""Distress scorers: words and prosody combined into one score per turn.

:class:`TrainedScorer` (the default when ``models/distress/current`` is built) reads the words
with the trained model; :class:`CueScorer` is the rule-based fallback.

Words are the stronger evidence on a phone line (clear cues carry enough confidence on their
own); prosody adds to them in proportion to how sure it is, which is more when the caller's
earlier turns give a baseline. No evidence (silence, music, one word, another language)
scores 0 with confidence 0: never an escalation on nothing.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from ivr.emotion import prosody as prosody_mod
from ivr.emotion import words
from ivr.emotion.model import DistressModel
from ivr.emotion.types import NO_EVIDENCE, Distress, EmotionScorer, Prosody, TurnInput
from ivr.emotion.words import _CJK, _LATIN_WORD

_LOG = logging.getLogger(__name__)

PROSODY_WEIGHT = 0.85
"""How far a fully aroused voice, against the caller's own baseline, can push the score
(alone: two such turns escalate on the rolling rule, one does not)."""
CUE_FIRES = 0.3
"""A word cue at or above this is named as a reason."""
VOICE_FIRES = 0.4
"""Voice arousal at or above this is named as a reason."""


class CueScorer:
    """An :class:`~ivr.emotion.types.EmotionScorer` from lexical cues, sentiment and prosody."""

    name = "cues-v1"

    def score(self, turn: TurnInput, earlier: Sequence[Prosody] = ()) -> Distress:
        text_ev = (words.assess(turn.text or "", turn.language, turn.agent_requests)
                   if turn.text is not None or turn.agent_requests else None)
        if text_ev is None and turn.audio is None:
            return NO_EVIDENCE
        signals: dict[str, float] = dict(text_ev.cues) if text_ev else {}
        reasons = [words.REASONS[k] for k, v in signals.items() if v >= CUE_FIRES]
        text_score = text_ev.score if text_ev else 0.0
        text_conf = text_ev.confidence if text_ev else 0.0
        feats = prosody_mod.features(turn.audio) if turn.audio is not None else None
        voice_score = voice_conf = 0.0
        if feats is not None:
            voice_score, voice_conf, deltas = prosody_mod.arousal(feats, earlier)
            signals.update(deltas)
            signals["arousal"] = round(voice_score, 3)
            if voice_score >= VOICE_FIRES:
                reasons.append(_voice_reason(deltas, bool(earlier)))
        if text_conf == 0.0:
            text_score = 0.0  # words we cannot read do not pull the voice down either
        if voice_conf == 0.0 and text_conf == 0.0:
            return Distress(0.0, 0.0, signals, (), feats)
        voice_part = PROSODY_WEIGHT * min(1.0, voice_conf / 0.6) * voice_score
        score = 1.0 - (1.0 - text_score) * (1.0 - voice_part)
        confidence = 1.0 - (1.0 - text_conf) * (1.0 - voice_conf * voice_score)
        confidence = max(confidence, text_conf, min(voice_conf, 0.7))
        return Distress(round(min(1.0, max(0.0, score)), 3), round(confidence, 3), signals,
                        tuple(reasons), feats)


def _voice_reason(deltas: dict[str, float], relative: bool) -> str:
    parts = [f"pitch {deltas['pitch_st']:+.1f} st", f"loudness {deltas['loudness_db']:+.1f} dB",
             f"rate ×{deltas['rate_ratio']:.2f}"]
    return ("voice vs earlier turns: " if relative else "voice: ") + ", ".join(parts)


MAX_TEXT_CHARS = 400
"""A longer transcript is scored on its first 400 characters, with low confidence."""
LOW_CONFIDENCE = 0.4
"""Below the shipped policy's ``min_confidence`` (0.5): evidence too thin to escalate on."""
MODEL_REASON = 0.7
"""A calibrated probability at or above this names the words as a reason."""


class TrainedScorer:
    """An :class:`~ivr.emotion.types.EmotionScorer`: the trained, calibrated text model
    (:mod:`ivr.emotion.model`) for the words, prosody against the caller's earlier turns for
    the voice, combined as :class:`CueScorer` combines them.

    The score of the words is the model's probability that the turn is distressed; lexical
    cues are features of the model and are named as reasons, they do not decide. Bad input
    (nothing said, another script, very long, mixed languages, silence, clipped audio) gives
    a score with low confidence; an internal failure gives no evidence, never an exception.
    """

    name = "trained-v1"

    def __init__(self, model: DistressModel) -> None:
        self.model = model

    def score(self, turn: TurnInput, earlier: Sequence[Prosody] = ()) -> Distress:
        try:
            return self._score(turn, earlier)
        except Exception:  # a broken turn never breaks the call: no evidence
            _LOG.exception("emotion-score-failed")
            return NO_EVIDENCE

    def words(self, text: str, language: str, agent_requests: int = 0
              ) -> tuple[float, float, dict[str, float], list[str]]:
        """(probability, confidence, signals, reasons) of the words alone."""
        lang = "zh-CN" if language.startswith("zh") else "en-US"
        text = _printable(text or "")
        cjk = len(_CJK.findall(text))
        latin = len(_LATIN_WORD.findall(text))
        if not cjk and not latin:
            if agent_requests >= 2:  # keys only: the cue scorer's agent ramp
                ev = words.assess("", lang, agent_requests)
                return (ev.score, ev.confidence, dict(ev.cues),
                        [words.REASONS["agent_repeat"]])
            return 0.0, 0.0, {}, []
        # the model of the script the caller used; confidence falls with a mixed or foreign one
        script = "zh-CN" if cjk / 2 > latin else "en-US"
        size = cjk / 2 + latin
        purity = max(cjk / 2, latin) / size
        confidence = min(0.95, 0.3 + 0.2 * size) if size < 3 else 0.95
        if size <= 1:  # one word (or two hanzi) is bad input: below the policy's minimum
            confidence = min(confidence, LOW_CONFIDENCE)
        if script != lang or purity < 0.8 or len(text) > MAX_TEXT_CHARS:
            confidence = min(confidence, LOW_CONFIDENCE)
        cut = text[:MAX_TEXT_CHARS]
        prob = float(self.model.probabilities([cut], script, [agent_requests])[0])
        ev = words.assess(cut, script, agent_requests)
        signals = {k: v for k, v in ev.cues.items()}
        signals["words"] = round(prob, 3)
        reasons = [words.REASONS[k] for k, v in ev.cues.items() if v >= CUE_FIRES]
        if prob >= MODEL_REASON:
            reasons.insert(0, f"words sound distressed (model {prob:.2f})")
        if script != lang or purity < 0.8:
            signals["mixed_language"] = round(1.0 - purity, 3) if script == lang else 1.0
        if len(text) > MAX_TEXT_CHARS:
            signals["truncated_chars"] = float(len(text) - MAX_TEXT_CHARS)
        return prob, confidence, signals, reasons

    def _score(self, turn: TurnInput, earlier: Sequence[Prosody]) -> Distress:
        if not turn.text and turn.audio is None and turn.agent_requests < 2:
            return NO_EVIDENCE
        text_score, text_conf, signals, reasons = self.words(
            turn.text or "", turn.language, turn.agent_requests)
        feats = voice_score = voice_conf = None
        if turn.audio is not None:
            feats = prosody_mod.features(turn.audio)
            if feats is not None:
                voice_score, voice_conf, deltas = prosody_mod.arousal(feats, earlier)
                signals.update(deltas)
                signals["arousal"] = round(voice_score, 3)
                if voice_score >= VOICE_FIRES:
                    reasons.append(_voice_reason(deltas, bool(earlier)))
        vs, vc = voice_score or 0.0, voice_conf or 0.0
        if text_conf == 0.0:
            text_score = 0.0
        if vc == 0.0 and text_conf == 0.0:
            return Distress(0.0, 0.0, signals, (), feats)
        voice_part = PROSODY_WEIGHT * min(1.0, vc / 0.6) * vs
        score = 1.0 - (1.0 - text_score) * (1.0 - voice_part)
        confidence = 1.0 - (1.0 - text_conf) * (1.0 - vc * vs)
        confidence = max(confidence, text_conf, min(vc, 0.7))
        if text_conf <= LOW_CONFIDENCE and vc < 0.5:
            confidence = min(confidence, LOW_CONFIDENCE)
        return Distress(round(min(1.0, max(0.0, score)), 3), round(confidence, 3), signals,
                        tuple(reasons), feats)


def _printable(text: str) -> str:
    """NFKC, no control characters or lone surrogates (a recogniser's or a test's garbage)."""
    text = unicodedata.normalize("NFKC", text[: MAX_TEXT_CHARS * 20])
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs", "Co")
                   or ch in "\n\t").strip()


def load_scorer(model_dir: Path | None = None) -> tuple[EmotionScorer, str]:
    """The trained scorer, loaded and warmed up (blocking: call it off the loop), and a note
    for the console; without a built model, the cue rules (``emotion-model-missing``)."""
    from ivr.emotion.model import MODEL_DIR, ModelMissing

    folder = model_dir or MODEL_DIR
    try:
        model = DistressModel.load(folder)
        model.warm_up()
    except (ModelMissing, OSError, ValueError, KeyError) as err:
        _LOG.warning("emotion-model-missing: %s; scoring distress with the cue rules", err)
        return CueScorer(), f"distress: cue rules (no trained model: {err})"
    return TrainedScorer(model), f"distress: trained model {model.version} ({folder})"
