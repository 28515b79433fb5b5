"""Prometheus metrics for one ``ivr serve`` process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The server's metrics, on a registry of their own (tests can make many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.active_calls = Gauge(
            "ivr_active_calls", "Calls in progress", ["transport"], registry=self.registry
        )
        self.calls = Counter(
            "ivr_calls", "Finished calls by outcome", ["transport", "outcome"],
            registry=self.registry,
        )
        self.agi_reply_seconds = Histogram(
            "ivr_agi_reply_seconds",
            "Hotline's reply time per AGI command: from Asterisk's reply to our next command",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.agi_refused = Counter(
            "ivr_agi_refused", "FastAGI connections refused: the peer is not in agi.allow",
            registry=self.registry,
        )
        self.errors = Counter(
            "ivr_errors", "Errors by code", ["code"], registry=self.registry
        )
