"""A real intent model for the session: ``models/intents/current`` when it loads, else one
trained now into a temporary folder (about a minute on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import IvrError
from ivr.nlu.classifier import IntentClassifier

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "models" / "intents" / "data"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    current = ROOT / "models" / "intents" / "current"
    try:
        IntentClassifier.load(current, warm=False)
        return current.resolve()
    except IvrError:
        from ivr.nlu.train import TrainOptions, train

        return train(TrainOptions(DATA, tmp_path_factory.mktemp("intents")))


@pytest.fixture(scope="session")
def classifier(model_dir: Path) -> IntentClassifier:
    return IntentClassifier.load(model_dir)
