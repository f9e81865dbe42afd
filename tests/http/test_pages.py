"""The pages' plumbing through the test client: language, security headers, errors, catalogues."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import notary.pages

TRANSLATIONS = Path(notary.pages.__file__).parent / "translations" / "zh" / "LC_MESSAGES"


def test_chinese_is_the_default_and_english_is_chosen_by_the_browser(client: Any) -> None:
    assert '<html lang="zh-CN"' in client.get("/").get_data(as_text=True)
    assert "核验证据" in client.get("/").get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en"' in english
    assert "Verify evidence" in english
    # Chinese preferred to English, or a language we do not speak: Chinese.
    for header in ("en;q=0.5, zh;q=0.9", "fr-FR", "zh-TW"):
        assert '<html lang="zh-CN"' in client.get("/", headers={"Accept-Language": header}).get_data(
            as_text=True
        )


def test_the_toggle_wins_and_is_carried_in_links_not_cookies(client: Any) -> None:
    response = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    page = response.get_data(as_text=True)
    assert '<html lang="en"' in page
    assert 'href="/verify?lang=en"' in page
    assert 'href="/?lang=zh-CN"' in page  # the toggle back
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("path", ["/", "/verify", "/me", "/cases", "/api/docs"])
def test_pages_carry_a_strict_policy(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert "<script>" not in response.get_data(as_text=True)  # no inline script, ever


def test_no_template_holds_a_script_element_of_its_own() -> None:
    # Every script is a file the app serves (script-src 'self'); data a page's script needs is
    # embedded in an inert <template>, never in a <script> element of any type.
    templates = Path(notary.pages.__file__).parent / "templates"
    inline = [
        f"{path.relative_to(templates)}: {tag}"
        for path in sorted(templates.rglob("*.html"))
        for tag in re.findall(r"<script\b[^>]*>", path.read_text())
        if " src=" not in tag
    ]
    assert inline == []


def test_answers_to_a_token_are_not_stored(client: Any, platform: Any) -> None:
    response = platform.get("/contracts/ct_nothing")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_page_is_a_page_and_unknown_api_path_stays_json(client: Any) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "此页面不存在" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.get_json()["error"]["code"] == "not_found"


def test_swagger_ui_is_served_from_the_package(client: Any) -> None:
    served = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert served.status_code == 200
    assert served.mimetype == "text/javascript"
    served.close()
    assert client.get("/api/docs/assets/index.html").status_code == 404  # only what the page loads
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/api/v1/openapi.json" in page
    assert "//" not in page.split("<main")[1].split("</main>")[0]


def test_every_message_is_translated_and_the_compiled_catalogue_is_current() -> None:
    """The .mo is committed (an installed package needs no build step): it must say exactly
    what the .po says, and the .po must translate every string (``make messages`` refreshes)."""
    with (TRANSLATIONS / "messages.po").open("rb") as handle:
        po = read_po(handle, locale="zh")
    untranslated = [message.id for message in po if message.id and not message.string]
    assert untranslated == []
    assert not any("fuzzy" in message.flags for message in po if message.id)
    with (TRANSLATIONS / "messages.mo").open("rb") as handle:
        mo = read_mo(handle)
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


def test_the_catalogue_holds_every_string_the_pages_use() -> None:
    from babel.messages.extract import extract_from_dir

    source = Path(notary.pages.__file__).parent
    with (source / "babel.cfg").open() as cfg:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(io.StringIO(cfg.read()))
    used = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(str(source), method_map, options_map)
    }
    with (TRANSLATIONS / "messages.po").open("rb") as handle:
        known = {message.id if isinstance(message.id, str) else message.id[0] for message in read_po(handle)}
    assert used - known == set(), "run make messages and translate the new strings"
