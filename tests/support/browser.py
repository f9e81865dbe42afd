"""Headless Chromium for the page tests: Debian's ``/usr/bin/chromium`` driven by Playwright.

Playwright never downloads a browser here (``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD``, and nothing
calls ``playwright install``): it launches the system's Chromium by ``executable_path``.
axe-core comes from npm (``tests/e2e/pages/package.json``, installed by ``make test``) and is
injected with ``page.evaluate``: a strict CSP blocks ``add_script_tag``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
#: As root Chromium needs --no-sandbox; the machine has no network, so everything that would
#: call home is switched off.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
]
PHONE = {"width": 390, "height": 844}
NPM_FOLDER = Path(__file__).resolve().parent.parent / "e2e" / "pages"
AXE = NPM_FOLDER / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("NOTARY_SCREENSHOTS", Path.cwd() / "build" / "screenshots"))


def axe_source() -> str:
    """axe-core's script; installs it from npm (the lock file's version) when it is missing."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install axe-core for the page tests (make test does it)")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=NPM_FOLDER,
            check=True,
            capture_output=True,
        )
    return AXE.read_text()


@dataclass
class PageProblems:
    """What a page reported while it was used: console errors, CSP violations, failed loads."""

    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            text = message.text
            if "Content Security Policy" in text:
                self.csp_violations.append(text)
            elif "the server responded with a status of" not in text:
                # A 4xx the page asked for and explains (a refused login...) is not a fault.
                self.console_errors.append(text)

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "net::ERR_ABORTED" not in failure:  # a download navigates away on purpose
            self.failed_requests.append(f"{request.url}: {failure}")

    def assert_clean(self) -> None:
        assert not self.csp_violations, self.csp_violations
        assert not self.console_errors, self.console_errors
        assert not self.failed_requests, self.failed_requests


def axe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    result = page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot under ``build/screenshots`` (``NOTARY_SCREENSHOTS``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
