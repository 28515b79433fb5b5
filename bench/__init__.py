"""Benchmarks (`make bench`): figures as a table on stderr and JSON on stdout."""

import os

DEFAULT_PG = "postgresql+asyncpg://ivr:ivr@127.0.0.1:5432/ivr_bench"
"""The ``ivr_bench`` database scripts/start-postgres.sh creates (``make bench`` starts it)."""


def bench_pg_url() -> str:
    """The PostgreSQL the benchmarks use: ``IVR_BENCH_PG_URL``, else :data:`DEFAULT_PG`."""
    return os.environ.get("IVR_BENCH_PG_URL") or DEFAULT_PG
