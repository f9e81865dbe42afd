"""A throwaway PostgreSQL cluster for the tests (the benchmark's, with fsync off for speed).

It listens on a Unix socket only, trusts local connections, and is stopped and removed when
the test session ends. The cluster code itself lives in :mod:`bench.postgres`.
"""

from __future__ import annotations

from bench import postgres


class Cluster(postgres.Cluster):
    def __init__(self) -> None:
        super().__init__(durable=False)
