"""/me shows a person their keys and revokes one (issue 25.3, handed on by the pages issue):
the revocation is signed in the browser by the key itself, for every platform at once, and
the key then logs in no more. It also replaces the key by a new one made in the browser
(POST /me/keys/rotate for every platform, approved by the old key)."""

from __future__ import annotations

import json
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


def enrol_again(page: Any, platform: LivePlatform, name: str, id_number: str) -> str:
    """The browser's key enrolled on a second platform (a second party of the same person)."""
    page.fill("#enrol-platform", platform.platform_id)
    page.fill("#enrol-name", name)
    page.fill("#enrol-id", id_number)
    page.evaluate("() => { document.getElementById('enrolment').value = ''; }")
    page.get_by_role("button", name="Make the enrolment request").click()
    page.wait_for_function("() => document.getElementById('enrolment').value !== ''")
    return platform.enrol_body(json.loads(page.locator("#enrolment").input_value()))


def stored_keys(page: Any) -> dict[str, Any]:
    """What this browser's IndexedDB keeps: each slot's fingerprint, whether its private half
    can be read out, and whether a waiting new key was used."""
    return page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open('notary-keys', 1);
            open.onsuccess = () => {
              const store = open.result.transaction('keys').objectStore('keys');
              const all = {};
              const cursor = store.openCursor();
              cursor.onsuccess = () => {
                const at = cursor.result;
                if (!at) { resolve(all); return; }
                all[at.key] = { fingerprint: at.value.fingerprint, extractable: at.value.privateKey.extractable,
                                algorithm: at.value.algorithm.name, used: at.value.used ?? null };
                at.continue();
              };
            };
        })"""
    )


def wrong_commitment(page: Any, party_id: str) -> None:
    """The page's copy of one party's identity commitment made wrong: the new key then proves
    itself for another identity, which the notary must refuse (bad_proof)."""
    page.evaluate(
        "(party) => { document.querySelector(`[data-party='${party}']`).dataset.commitment = '00'.repeat(32); }",
        party_id,
    )


def test_me_replaces_the_key_with_a_new_one_made_in_the_browser(
    page: Any, site: str, service: Any, platform: LivePlatform, axe: str, problems: PageProblems
) -> None:
    """POST /me/keys/rotate from the page, for both platforms the key is enrolled on: the old
    key approves (notary.rotate.v1), a new P-256 key made here proves itself (notary.enrol.v2).
    A refusal changes nothing; a rotation cut short half-way is finished with the same key."""
    old, opening = make_browser_key(page, site, platform, "周八")
    second = LivePlatform.add(service, "第二借贷平台")
    second_party = enrol_again(page, second, "周八", json.loads(opening)["id_number"])
    page.goto(f"{site}/me?lang=en")
    page.get_by_role("button", name="Log in with the key in this browser").click()
    page.locator('#keys[data-ready="yes"]').wait_for()
    assert page.locator("#keys [data-party]").count() == 2
    assert axe_violations(page, axe) == []
    old_token = page.evaluate("() => sessionStorage.getItem('notary.token.party')")
    page.select_option("#rotate-kind", "p256")
    replace = page.get_by_role("button", name="Replace this key")

    # Refused at the first platform: nothing changed, and the new key is not kept.
    first_party = page.locator("#keys [data-party]").first.get_attribute("data-party")
    wrong_commitment(page, first_party)
    replace.click()
    page.wait_for_function("() => document.getElementById('me-message').textContent.includes('proof')")
    assert "did not accept the new key's proof" in page.locator("#me-message").inner_text()
    assert set(stored_keys(page)) == {"default"}
    keys = call("GET", f"{site}/api/v1/me/keys", token=old_token).json()["parties"]
    assert {key["key_fingerprint"] for party in keys for key in party["keys"]} == {old}

    # Refused at the second platform after the first moved: the page says how far it got and
    # keeps the new key for the next attempt; the list shows only the platform still on the old key.
    page.reload()  # still logged in: the token is in this tab's sessionStorage
    page.locator('#keys[data-ready="yes"]').wait_for()
    page.select_option("#rotate-kind", "p256")
    wrong_commitment(page, second_party)
    replace.click()
    page.wait_for_function("() => document.getElementById('me-message').textContent.includes('1 of 2')")
    waiting = stored_keys(page)
    assert waiting["default"]["fingerprint"] == old
    assert waiting["next"]["used"] is True
    assert waiting["next"]["extractable"] is False
    assert waiting["next"]["algorithm"] == "ECDSA"
    new = waiting["next"]["fingerprint"]
    page.wait_for_function("() => document.querySelectorAll('#keys [data-party]').length === 1")
    assert page.locator("#keys [data-party]").get_attribute("data-party") == second_party

    # Finished with the same new key: it is this browser's key now, logged in, in use on both.
    replace.click()
    page.locator("#me-message.ok").wait_for()
    assert new in page.locator("#me-message").inner_text()
    done = stored_keys(page)
    assert set(done) == {"default"}
    assert done["default"]["fingerprint"] == new
    assert done["default"]["extractable"] is False
    token = page.evaluate("() => sessionStorage.getItem('notary.token.party')")
    assert token != old_token
    assert page.evaluate("() => sessionStorage.getItem('notary.key.fingerprint')") == new
    parties = call("GET", f"{site}/api/v1/me/keys", token=token).json()["parties"]
    assert len(parties) == 2
    for party in parties:
        status = {key["key_fingerprint"]: key["status"] for key in party["keys"]}
        assert status == {new: "active", old: "rotated"}
    assert call("GET", f"{site}/api/v1/me/keys", token=old_token).status == 401
    page.locator(f'#keys li[data-key="{old}"][data-key-status="rotated"]').first.wait_for()
    assert axe_violations(page, axe) == []
    screenshot(page, "me-key-rotated-en")

    # In Chinese, at phone width, in a new session: the new key logs in from this browser.
    page.evaluate("() => sessionStorage.clear()")
    page.goto(f"{site}/me?lang=zh-CN")
    page.locator("#use-browser-key").click()
    page.locator('#keys[data-ready="yes"]').wait_for()
    assert page.locator(f'#keys li[data-key="{new}"]').first.get_attribute("data-key-status") == "active"
    assert "更换此密钥" in page.locator("#rotate").inner_text()
    screenshot(page, "me-key-rotated-zh-CN")
