"""Every page, in both languages, at phone width: it loads under the strict CSP without a script
error, axe-core finds no serious or critical violation, and a screenshot is saved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import PageProblems, axe_violations, screenshot

PLAIN_PAGES = {
    "home": "/",
    "verify": "/verify",
    "me": "/me",
    "cases": "/cases",
    "key": "/me/key",
    "sign-login": "/sign/ct_01EXAMPLE?role=investor",
    "sign-bad-link": "/sign/ct_01EXAMPLE",
    "record-unknown": "/r/" + "ab" * 32,
    "not-found": "/no-such-page",
}
STATUS = {"sign-bad-link": 404, "record-unknown": 404, "not-found": 404}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("name", sorted(PLAIN_PAGES))
def test_page_is_clean_and_accessible(
    page: Any, site: str, axe: str, problems: PageProblems, name: str, lang: str
) -> None:
    path = PLAIN_PAGES[name]
    response = page.goto(f"{site}{path}{'&' if '?' in path else '?'}lang={lang}")
    assert response.status == STATUS.get(name, 200)
    assert page.locator("html").get_attribute("lang") == lang
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in response.headers
    page.wait_for_load_state("networkidle")
    assert axe_violations(page, axe) == []
    screenshot(page, f"{name}-{lang}")
    problems.assert_clean()
    assert page.context.cookies() == []


def test_api_docs_come_from_the_service(page: Any, site: str, problems: PageProblems) -> None:
    """Swagger UI is served by the app from its packaged copy and renders this API."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{site}/api/docs")
    page.get_by_text("/api/v1/contracts", exact=False).first.wait_for()
    assert all(url.startswith((site, "data:")) for url in requested), requested
    screenshot(page, "api-docs")


def test_language_follows_the_browser_and_the_toggle(browser: Any, site: str) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    try:
        tab = context.new_page()
        tab.goto(f"{site}/")
        assert tab.locator("html").get_attribute("lang") == "en"
        tab.get_by_role("link", name="中文").click()
        assert tab.locator("html").get_attribute("lang") == "zh-CN"
        # The choice is carried to the next page in the link, not in a cookie.
        tab.get_by_role("link", name="核验证据").first.click()
        assert tab.locator("html").get_attribute("lang") == "zh-CN"
        assert "lang=zh-CN" in tab.url
        assert context.cookies() == []
    finally:
        context.close()


def test_page_weight(browser: Any, site: str) -> None:
    """Bytes and requests of each page on a first visit (empty cache), for the closing note;
    a page must stay light for a phone on a slow network."""
    rows = []
    for name, path in sorted(PLAIN_PAGES.items()):
        context = browser.new_context(viewport={"width": 390, "height": 844})
        try:
            tab = context.new_page()
            sizes: list[int] = []
            tab.on(
                "requestfinished",
                lambda request, sizes=sizes: sizes.append(request.sizes()["responseBodySize"]),
            )
            tab.goto(f"{site}{path}")
            tab.wait_for_load_state("networkidle")
            rows.append((name, len(sizes), sum(sizes)))
        finally:
            context.close()
    print("\npage weight (first visit): " + "; ".join(f"{n} {r} requests {b} bytes" for n, r, b in rows))
    assert all(total < 200_000 for _, _, total in rows), rows
