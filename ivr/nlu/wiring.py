"""Load the intent model for ``ivr serve`` (off the event loop), or say why not."""

from __future__ import annotations

import logging

from ivr.errors import IvrError
from ivr.nlu.api import bands_with
from ivr.nlu.classifier import IntentClassifier
from ivr.nlu.settings import IntentSettings
from ivr.nlu.understander import IntentUnderstander

_LOG = logging.getLogger(__name__)


class BandedUnderstander(IntentUnderstander):
    """Calibrated bands, with the operator's per-language overrides on top."""

    def __init__(self, classifier: IntentClassifier, settings: IntentSettings) -> None:
        super().__init__(classifier)
        self.settings = settings

    def bands(self, language: str) -> tuple[float, float]:
        return bands_with(self.classifier.bands(language),
                          self.settings.reject_below.get(language),
                          self.settings.confirm_below.get(language))


def load_understander(settings: IntentSettings) -> tuple[BandedUnderstander | None, str]:
    """The understander and a line for the operator; on a missing or corrupt model, None and
    the reason (open questions then fall back to their keypad menu)."""
    if not settings.enabled:
        return None, "intents: disabled; open questions use the keypad menu"
    try:
        model = IntentClassifier.load(settings.model_dir)
    except IvrError as err:
        _LOG.error("%s: %s", err.code, err.message)
        return None, (f"warning [{err.code}]: {err.message}; open questions use the keypad "
                      "menu")
    bands = ", ".join(f"{lang} reject<{r:.2f} confirm<{c:.2f}" for lang in model.languages
                      for r, c in [BandedUnderstander(model, settings).bands(lang)])
    return BandedUnderstander(model, settings), f"intents: model {model.version} ({bands})"
