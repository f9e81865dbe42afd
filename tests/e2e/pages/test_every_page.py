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
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("name", sorted(PLAIN_PAGES))
def test_page_is_clean_and_accessible(
    page: Any, site: str, axe: str, problems: PageProblems, name: str, lang: str
) -> None:
    response = page.goto(f"{site}{PLAIN_PAGES[name]}?lang={lang}")
    assert response.status == 200
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
