"""An app whose rate limits a test chooses, on the test's own instance and clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from notary.app import create_app
from notary.config import Settings
from notary.runtime import Runtime


@contextmanager
def limited_app(settings: Settings, clock: Any, **limits: Any) -> Iterator[Any]:
    """The app with these settings changed (``rate_limit_login="3/minute"``, ...)."""
    runtime = Runtime(dataclasses.replace(settings, **limits), clock=clock, web=True)
    try:
        app = create_app(runtime=runtime)
        app.config["TESTING"] = True
        yield app
    finally:
        runtime.close()


@contextmanager
def limited_client(settings: Settings, clock: Any, **limits: Any) -> Iterator[Any]:
    """A test client of :func:`limited_app`."""
    with limited_app(settings, clock, **limits) as app:
        yield app.test_client()
