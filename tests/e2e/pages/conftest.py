"""One real service (gunicorn and its worker) and one headless Chromium for all page tests.

Package-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop running in
this thread while it lives, and later tests that call ``asyncio.run`` (pyHanko) must not
find it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, PageProblems, axe_source
from tests.support.live_api import LivePlatform
from tests.support.people import Person
from tests.support.server import Service

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="package")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    instance: Path = tmp_path_factory.mktemp("pages-instance")
    server = Service(instance, workers=2)
    # The certificate's QR code must lead to this very service.
    server.env["NOTARY_PUBLIC_URL"] = f"http://127.0.0.1:{server.port}"
    # One service for every page test: a platform one test registers must show at once in the
    # next, not after the public figures' minute of cache (the cache has its own tests).
    server.env["NOTARY_TRANSPARENCY_CACHE"] = "0"
    # Every person of every page test logs in from 127.0.0.1: the login limit (20 a minute per
    # address) refused the 21st login within the package's first minute once the pages answered
    # quickly enough. The limits have tests of their own (tests/http/test_rate_limits.py).
    server.env["NOTARY_RATE_LIMIT_LOGIN"] = "1000/minute"
    with server as running:
        yield running


@pytest.fixture(scope="package")
def site(service: Service) -> str:
    """The service's root address (the pages live at ``/``, the API at ``/api/v1``)."""
    return service.base.removesuffix("/api/v1")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: make test installs it (scripts/debian-packages.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def axe() -> str:
    return axe_source()


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (its own storage), Chinese first like the pages."""
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any, problems: PageProblems) -> Iterator[Any]:
    tab = context.new_page()
    problems.watch(tab)
    yield tab
    problems.assert_clean()


@pytest.fixture(scope="package")
def platform(service: Service) -> LivePlatform:
    return LivePlatform.add(service)


@pytest.fixture(scope="package")
def investor(platform: LivePlatform) -> Person:
    person = Person("张三", alg="ed25519")
    platform.enrol(person)
    return person


@pytest.fixture(scope="package")
def borrower(platform: LivePlatform) -> Person:
    person = Person("李四", alg="p256")
    platform.enrol(person)
    return person


@pytest.fixture(scope="package")
def sealed(platform: LivePlatform, investor: Person, borrower: Person) -> dict[str, Any]:
    """A contract both parties signed through the API, sealed and ready (its view)."""
    return platform.sealed_contract(investor, borrower)
