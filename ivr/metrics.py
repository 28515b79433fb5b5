"""Prometheus metrics for one ``ivr serve`` process.

Operators alert and autoscale on these names (``deploy/kubernetes/``: alert rules, the
Prometheus Adapter's rule for the HorizontalPodAutoscaler, the dashboard); a test checks
that every ``ivr_*`` name used there is exported here, so rename with care.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from ivr.events import CallLog, EventKind

_ANSWERS = {EventKind.DTMF: "matched", EventKind.SPEECH: "matched",
            EventKind.NO_MATCH: "no_match", EventKind.NO_INPUT: "no_input"}


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
        self.instance = Gauge(
            "ivr_instance", "This server: always 1, labelled with its instance_id",
            ["instance_id"], registry=self.registry,
        )
        self.instances_lost = Counter(
            "ivr_instances_lost", "Other instances found lost (lease ran out) by this one",
            registry=self.registry,
        )
        self.ari_connected = Gauge(
            "ivr_ari_connected", "1 while the ARI events websocket is connected",
            registry=self.registry,
        )
        self.ari_state = Gauge(
            "ivr_ari_state", "The ARI controller's state (1 for the current one)", ["state"],
            registry=self.registry,
        )
        self.ami_connected = Gauge(
            "ivr_ami_connected", "1 while logged in to AMI", registry=self.registry,
        )
        self.ari_rtp_dropped = Counter(
            "ivr_ari_rtp_dropped", "RTP packets dropped by reason", ["reason"],
            registry=self.registry,
        )
        self.errors = Counter(
            "ivr_errors", "Errors by code", ["code"], registry=self.registry
        )
        self.store_healthy = Gauge(
            "ivr_store_healthy",
            "1 while the database takes this instance's writes, 0 while it does not",
            registry=self.registry,
        )
        self.answers = Counter(
            "ivr_caller_answers",
            "Callers' answers to questions: matched (a key or words that are an option), "
            "no_match, no_input", ["result"], registry=self.registry,
        )
        self.time_to_queue = Histogram(
            "ivr_time_to_queue_seconds",
            "How long a caller spent in Hotline before it handed them to an agent queue "
            "(Hotline's share of the wait for an agent)", ["queue"],
            buckets=(5, 15, 30, 60, 90, 120, 180, 300, 600), registry=self.registry,
        )

        self.loop_lag = Histogram(
            "ivr_event_loop_lag_seconds",
            "How late the event loop woke a timer (probed every 0.1 s): time every call's "
            "next command waited for other work (or for a CPU)",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.gc_full = Histogram(
            "ivr_gc_full_collection_seconds",
            "How long each full garbage collection paused the event loop (one every "
            "gc_full_seconds)",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        self.tasks = Gauge(
            "ivr_asyncio_tasks", "Tasks on the server's event loop (flat when idle: no leak)",
            registry=self.registry,
        )
        self.tasks.set_function(_task_count)
        # process_resident_memory_bytes, process_open_fds, process_cpu_seconds_total, ...
        ProcessCollector(registry=self.registry)

    def metered(self, log: CallLog) -> CallLog:
        """``log`` that also counts the call's answers and its time to an agent queue."""
        return _MeteredLog(log, self)


LAG_PROBE_SECONDS = 0.1


async def probe_loop_lag(observe: Callable[[float], None],
                         interval: float = LAG_PROBE_SECONDS) -> None:
    """Sleep ``interval`` again and again and observe how late each wake-up came: a loop
    busy with a long callback (or a process waiting for a CPU) shows here (cancel to stop)."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(interval)
        observe(max(0.0, loop.time() - start - interval))


def _task_count() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # collected outside the event loop's thread
        return float("nan")


class _MeteredLog:
    """A call's log that feeds the per-call metrics on its way to the real one."""

    def __init__(self, log: CallLog, metrics: Metrics) -> None:
        self._log = log
        self._metrics = metrics

    def start(self, **values: Any) -> None:
        self._log.start(**values)

    def update(self, **values: Any) -> None:
        self._log.update(**values)

    def event(self, kind: EventKind, node: str | None = None, **data: Any) -> None:
        if (answer := _ANSWERS.get(kind)) is not None:
            self._metrics.answers.labels(answer).inc()
        elif (kind == EventKind.CALL_ENDED and data.get("outcome") == "queued"
              and data.get("queue") and isinstance(data.get("seconds"), int | float)):
            self._metrics.time_to_queue.labels(str(data["queue"])).observe(data["seconds"])
        self._log.event(kind, node, **data)
