"""The ``ivr`` subcommands beyond the core ones in :mod:`ivr.cli`; each module has
``register(sub, add_command)``.

With :mod:`ivr.cli`, :mod:`ivr.app` and :mod:`ivr.config` this is the composition layer: the
only code that sees the whole settings tree (``ivr.config.Settings``) and hands each package
its own section. Packages under ``ivr/`` never import ``ivr.config``.
"""

from __future__ import annotations

HELP: dict[str, str] = {
    "users": "web users: admin, supervisor, auditor, reviewer",
    "keys": "recording keys: create, list, rotate, retire",
    "recordings": "encrypted call recordings: list, play, export",
    "retention": "purge old recordings, transcripts and events; legal holds",
    "customers": "demo customers for verification",
    "demo": "demo data",
    "otp": "one-time codes",
    "asr": "speech recognition tools",
    "models": "speech models for operators",
    "call": "call a running Hotline over WebRTC (headless softphone): say things, press keys, "
            "hear the prompts and the outcome",
    "intents": "train and evaluate the intent classifier",
    "emotion": "caller distress scoring",
    "report": "analytics: containment, abandonment, transfers, intents, nodes, escalations and "
              "survey scores, overall and by day",
    "callbacks": "callers waiting to be called back (AMI)",
}
"""Each command's one-line help: the modules register their commands with it, and ``ivr
--help`` lists the commands of modules it does not import from it (:data:`ivr.cli.PLUGINS`)."""
