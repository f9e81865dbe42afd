"""Investors and borrowers in the browser: make a key, have it enrolled, sign, log in, download,
verify; sign with a `notary keygen` key file; decline; and the messages for a wrong key, an
expired login and a contract that is not yours."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import PageProblems, axe_violations, screenshot
from tests.support.live_api import LivePlatform, call, operator
from tests.support.people import Person, resident_id
from tests.support.server import notary


def make_browser_key(
    page: Any, site: str, platform: LivePlatform, name: str, kind: str = "ed25519"
) -> tuple[str, bytes]:
    """Make a key on /me/key, prepare the enrolment there (a v2 request: the browser draws the
    salt, commits to the identity and signs the commitment), and enrol it as the platform
    would; the key's fingerprint and the identity opening the page saved."""
    page.goto(f"{site}/me/key?lang=en")
    page.select_option("#key-kind", kind)
    page.get_by_role("button", name="Make my key").click()
    page.locator("#have-key").wait_for()
    fingerprint = page.locator("#key-fingerprint").inner_text()
    assert page.locator("#public-pem").input_value().startswith("-----BEGIN PUBLIC KEY-----")
    page.fill("#enrol-platform", platform.platform_id)
    page.fill("#enrol-name", name)
    page.fill("#enrol-id", resident_id())
    page.get_by_role("button", name="Make the enrolment request").click()
    page.wait_for_function("() => document.getElementById('enrolment').value !== ''")
    body = json.loads(page.locator("#enrolment").input_value())
    assert len(base64.b64decode(body["identity_salt"], validate=True)) == 32
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Download your identity opening").click()
    opening = Path(downloaded.value.path()).read_bytes()
    assert json.loads(opening) == {
        "id_number": body["id_number"],
        "id_type": "cn_resident",
        "purpose": "notary.identity.v1",
        "salt": body["identity_salt"],
    }
    commitment = page.locator("#opening-commitment").inner_text()
    assert hashlib.sha256(opening).hexdigest() == commitment
    # The notary recomputes the commitment from the number and the salt, and checks the proof
    # over it: a v2 enrolment, with the key holder's own proof kept in the record.
    platform.enrol_body(body)
    # The private half cannot be read out, even by the page itself.
    extractable = page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open('notary-keys', 1);
            open.onsuccess = () => {
              const get = open.result.transaction('keys').objectStore('keys').get('default');
              get.onsuccess = () => resolve(get.result.privateKey.extractable);
            };
        })"""
    )
    assert extractable is False
    return fingerprint, opening


def test_browser_key_enrol_sign_login_download_verify_logout(
    page: Any,
    site: str,
    service: Any,
    platform: LivePlatform,
    borrower: Person,
    axe: str,
    problems: PageProblems,
    tmp_path: Path,
) -> None:
    page.goto(f"{site}/me/key?lang=en")
    screenshot(page, "key-empty-en")
    fingerprint, opening = make_browser_key(page, site, platform, "王五")
    assert axe_violations(page, axe) == []
    screenshot(page, "key-en")
    investor_id = _enrolled_party(page, platform)
    id_number = json.loads(page.locator("#enrolment").input_value())["id_number"]
    filed = platform.file(investor_id, str(borrower.party_id))
    contract = filed["contract_id"]

    page.goto(f"{site}/sign/{contract}?role=investor")
    page.get_by_role("button", name="用此浏览器中的密钥登录").click()
    sheet = page.locator("#sheet")
    page.locator('#sheet[data-ready="yes"]').wait_for()
    text = sheet.inner_text()
    assert "123456.78 CNY" in text
    assert "人民币壹拾贰万叁仟肆佰伍拾陆元柒角捌分" in text
    assert "王五" in text
    assert "李*" in text
    assert "李四" not in text
    assert "示例借贷平台" in text
    # The bytes shown are the bytes the platform was given to have signed, exactly.
    shown = page.locator("#payload").inner_text()
    assert shown == base64.b64decode(filed["signing_payloads"]["investor"]["payload_base64"]).decode()
    assert page.locator('#payload-checks [data-status="passed"]').count() == 2
    assert axe_violations(page, axe) == []
    screenshot(page, "sign-zh-CN")
    page.get_by_role("button", name="用我的密钥签署").click()
    page.locator('#sheet article[data-open="no"]').wait_for()
    assert "已签署" in page.locator("#sign-message").inner_text()
    view = platform.get(f"/contracts/{contract}").json()
    assert view["signatures"]["investor"]["key_fingerprint"] == fingerprint

    platform.sign(borrower, filed, "borrower")
    platform.wait_ready(contract)

    # The same person on a second platform, which then collapses: still listed, flagged.
    collapsed = LivePlatform.add(service, "已倒闭的平台")
    page.goto(f"{site}/me/key?lang=en")
    page.fill("#enrol-platform", collapsed.platform_id)
    page.fill("#enrol-name", "王五")
    page.fill("#enrol-id", id_number)
    page.get_by_role("button", name="Make the enrolment request").click()
    page.wait_for_function("() => document.getElementById('enrolment').value !== ''")
    other = Person("钱九")
    collapsed.enrol(other)
    orphan = collapsed.file(
        collapsed.enrol_body(json.loads(page.locator("#enrolment").input_value())), str(other.party_id)
    )
    operator(service, "platform", "defunct", collapsed.platform_id)

    page.goto(f"{site}/me?lang=en")
    page.locator('#contracts[data-ready="yes"]').wait_for()  # the sign page's login, same tab
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in with the key in this browser").click()
    card = page.locator(f'[data-contract="{contract}"]')
    card.wait_for()
    assert card.get_attribute("data-status") == "sealed"
    assert page.locator(f'[data-contract="{orphan["contract_id"]}"] [data-defunct="yes"]').count() == 1
    token = page.evaluate("() => sessionStorage.getItem('notary.token.party')")
    assert token
    assert token.startswith("ntk_")
    assert page.evaluate("() => localStorage.length") == 0
    assert page.context.cookies() == []
    assert axe_violations(page, axe) == []
    screenshot(page, "me-contracts-en")
    with page.expect_download() as downloaded:
        card.get_by_role("button", name="Evidence (.zip)").click()
    with zipfile.ZipFile(downloaded.value.path()) as bundle:
        record = json.loads(bundle.read("record.json"))
    # The record carries the commitment the browser made and the proof its key signed; the
    # salt stays out of it, so the ID number cannot be worked out from the bundle.
    investor_entry = record["signatures"]["investor"]
    assert record["format"] == "notary-record/2"
    assert investor_entry["identity_commitment"] == hashlib.sha256(opening).hexdigest()
    assert "enrolment_proof" in investor_entry
    assert json.loads(opening)["salt"] not in json.dumps(record)
    with page.expect_download() as downloaded:
        card.get_by_role("button", name="Certificate (PDF)").click()
    assert Path(downloaded.value.path()).read_bytes().startswith(b"%PDF")

    card.get_by_role("link", name="Verify").click()
    page.locator("#report [data-verdict]").wait_for()
    assert page.locator("#report [data-verdict]").get_attribute("data-verdict") == "valid"

    page.goto(f"{site}/me?lang=en")
    page.locator('#contracts[data-ready="yes"]').wait_for()  # still logged in within this tab
    page.get_by_role("button", name="Log out").click()
    assert "logged out" in page.locator("#me-message").inner_text()
    assert page.evaluate("() => sessionStorage.getItem('notary.token.party')") is None
    answer = call("GET", f"{site}/api/v1/me/contracts", token=token)
    assert answer.status == 200  # forgetting is the page's part; the token expires on its own


def _enrolled_party(page: Any, platform: LivePlatform) -> str:
    body = json.loads(page.locator("#enrolment").input_value())
    return platform.enrol_body(body)  # the same body again: the existing party (200)


def test_sign_with_a_keygen_key_file_and_a_wrong_key_is_told(
    page: Any, site: str, platform: LivePlatform, investor: Person, service: Any, axe: str, tmp_path: Path
) -> None:
    folder = tmp_path / "my-key"
    notary(["keygen", "--out", str(folder), "--alg", "p256"], service.env)
    body = json.loads(
        notary(
            [
                "enrol",
                "--key",
                str(folder),
                "--platform-id",
                platform.platform_id,
                "--name",
                "赵六",
                "--id-number",
                resident_id(),
            ],
            service.env,
        )
    )
    borrower_id = platform.enrol_body(body)
    filed = platform.file(str(investor.party_id), borrower_id)
    contract = filed["contract_id"]

    # The investor's link opened with the borrower's key: it cannot sign there.
    page.goto(f"{site}/sign/{contract}?role=investor&lang=en")
    page.set_input_files("#key-file", str(folder / "private.pem"))
    page.get_by_role("button", name="Log in with this key file").click()
    page.locator('#sheet [data-problem="wrong_key"]').wait_for()
    assert page.get_by_role("button", name="Sign with my key").count() == 0

    page.goto(f"{site}/sign/{contract}?role=borrower&lang=en")
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))  # noqa: PLW0108 - Playwright needs a Python function
    page.set_input_files("#key-file", str(folder / "private.pem"))
    page.get_by_role("button", name="Log in with this key file").click()
    page.locator('#sheet[data-ready="yes"]').wait_for()
    screenshot(page, "sign-en")
    page.get_by_role("button", name="Sign with my key").click()
    page.locator('#sheet article[data-open="no"]').wait_for()
    assert "borrower" in platform.get(f"/contracts/{contract}").json()["signatures"]
    pem = (folder / "private.pem").read_text()
    secret = pem.splitlines()[1]
    assert all(secret not in (r.post_data or "") for r in requests)  # the key file never left
    assert axe_violations(page, axe) == []


def test_decline_with_a_reason(
    page: Any, site: str, platform: LivePlatform, investor: Person, service: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "key"
    notary(["keygen", "--out", str(folder)], service.env)
    body = json.loads(
        notary(
            [
                "enrol",
                "--key",
                str(folder),
                "--platform-id",
                platform.platform_id,
                "--name",
                "孙七",
                "--id-number",
                resident_id(),
            ],
            service.env,
        )
    )
    filed = platform.file(str(investor.party_id), platform.enrol_body(body))
    page.goto(f"{site}/sign/{filed['contract_id']}?role=borrower&lang=en")
    page.set_input_files("#key-file", str(folder / "private.pem"))
    page.get_by_role("button", name="Log in with this key file").click()
    page.locator('#sheet[data-ready="yes"]').wait_for()
    page.locator("summary", has_text="Decline this contract").click()
    page.fill("#decline-reason", "利率与口头约定不符")
    page.get_by_role("button", name="Decline with my key").click()
    page.locator('#sheet [data-problem="declined"]').wait_for()
    view = platform.get(f"/contracts/{filed['contract_id']}").json()
    assert view["status"] == "declined"
    assert view["declined"]["reason"] == "利率与口头约定不符"
    assert "利率与口头约定不符" in page.locator("#sheet").inner_text()
    screenshot(page, "sign-declined-en")


@pytest.mark.parametrize("case", ["expired_login", "not_yours", "unknown_key_file"])
def test_bad_input_gets_words(
    page: Any,
    site: str,
    platform: LivePlatform,
    investor: Person,
    borrower: Person,
    service: Any,
    tmp_path: Path,
    case: str,
) -> None:
    if case == "expired_login":
        page.goto(f"{site}/me?lang=en")
        page.evaluate("() => sessionStorage.setItem('notary.token.party', 'ntk_expired-or-revoked')")
        page.goto(f"{site}/me?lang=en")
        page.wait_for_function(
            "() => document.getElementById('me-message').textContent.includes('Log in again')"
        )
        assert page.evaluate("() => sessionStorage.getItem('notary.token.party')") is None
    elif case == "not_yours":
        folder = tmp_path / "stranger"
        notary(["keygen", "--out", str(folder)], service.env)
        body = json.loads(
            notary(
                [
                    "enrol",
                    "--key",
                    str(folder),
                    "--platform-id",
                    platform.platform_id,
                    "--name",
                    "周八",
                    "--id-number",
                    resident_id(),
                ],
                service.env,
            )
        )
        platform.enrol_body(body)
        filed = platform.file(str(investor.party_id), str(borrower.party_id))
        page.goto(f"{site}/sign/{filed['contract_id']}?role=borrower&lang=en")
        page.set_input_files("#key-file", str(folder / "private.pem"))
        page.get_by_role("button", name="Log in with this key file").click()
        page.locator('#sheet [data-problem="not_found"]').wait_for()
        assert "not yours" in page.locator("#sheet").inner_text()
    else:
        folder = tmp_path / "never-enrolled"
        notary(["keygen", "--out", str(folder)], service.env)
        page.goto(f"{site}/me?lang=en")
        page.set_input_files("#key-file", str(folder / "private.pem"))
        page.get_by_role("button", name="Log in with this key file").click()
        page.locator("#me-message:not(:empty)").wait_for()
        assert "no platform enrolled it" in page.locator("#me-message").inner_text()
        page.set_input_files("#key-file", str(folder / "public.pem"))
        page.get_by_role("button", name="Log in with this key file").click()
        page.wait_for_function(
            "() => document.getElementById('me-message').textContent.includes('not a key file')"
        )
    screenshot(page, f"bad-{case}-en")
