"""/me shows a person their keys and revokes one (issue 25.3, handed on by the pages issue):
the revocation is signed in the browser by the key itself, for every platform at once, and
the key then logs in no more."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.pages.test_sign_and_me import make_browser_key
from tests.support.browser import PageProblems, axe_violations, screenshot
from tests.support.live_api import LivePlatform, call

pytestmark = pytest.mark.browser


def test_me_lists_my_keys_and_revokes_the_browser_key(
    page: Any, site: str, service: Any, platform: LivePlatform, axe: str, problems: PageProblems
) -> None:
    fingerprint, _opening = make_browser_key(page, site, platform, "孙七")
    page.goto(f"{site}/me?lang=en")
    page.get_by_role("button", name="Log in with the key in this browser").click()
    keys = page.locator('#keys[data-ready="yes"]')
    keys.wait_for()
    row = page.locator(f'#keys li[data-key="{fingerprint}"]')
    assert row.get_attribute("data-key-status") == "active"
    assert "the key you logged in with" in row.inner_text()
    assert page.locator("#keys [data-party]").get_attribute("data-platform") == platform.platform_id
    assert axe_violations(page, axe) == []
    screenshot(page, "me-keys-en")
    token = page.evaluate("() => sessionStorage.getItem('notary.token.party')")

    # Not confirmed: nothing is sent.
    page.select_option("#revoke-reason", "compromised")
    page.get_by_role("button", name="Revoke this key").click()
    assert "Tick the box" in page.locator("#me-message").inner_text()
    assert call("GET", f"{site}/api/v1/me/keys", token=token).status == 200

    page.check("#revoke-sure")
    page.get_by_role("button", name="Revoke this key").click()
    page.locator("#me-message.ok").wait_for()
    assert "revoked on every platform" in page.locator("#me-message").inner_text()
    assert page.evaluate("() => sessionStorage.getItem('notary.token.party')") is None
    assert call("GET", f"{site}/api/v1/me/keys", token=token).status == 401  # its token went with it

    # The key logs in no more.
    page.get_by_role("button", name="Log in with the key in this browser").click()
    page.wait_for_function("() => document.getElementById('me-message').textContent.includes('not accepted')")
    screenshot(page, "me-key-revoked-en")
