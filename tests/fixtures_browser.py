"""Browser fixtures: Playwright (async API) driving Debian's headless Chromium against the real server.

The server is the app built by the production factory (``make_client``), in the same event loop as
Playwright. Playwright's own browser download is never used: ``/usr/bin/chromium`` (override with
``JINGYUN_CHROMIUM``). Screenshots go to ``test-artifacts/browser/`` (git-ignored).
Imported by ``tests/browser/conftest.py``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("JINGYUN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # The console's alarm and the officer's order tone must play without a click in tests.
    "--autoplay-policy=no-user-gesture-required",
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

__all__ = ["ARTIFACTS", "DESKTOP", "PHONE", "artifacts", "browser", "fake_mic_browser", "page_watch", "playwright",
           "server_url", "shot"]


def _need_chromium() -> None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium (make sysdeps) "
                    "or set JINGYUN_CHROMIUM")


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    try:
        yield pw
    finally:
        await pw.stop()


@pytest.fixture(scope="session")
async def browser(playwright: Any) -> AsyncIterator[Any]:
    """One headless Chromium for the session; each test opens its own contexts."""
    _need_chromium()
    b = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture(scope="session")
def fake_mic_browser(playwright: Any, shared_dir: Path) -> Callable[[Path], Any]:
    """``await fake_mic_browser(wav)``: a Chromium whose microphone plays ``wav`` (16-bit PCM WAV)."""
    _need_chromium()
    launched: list[Any] = []

    async def launch(wav: Path) -> Any:
        b = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={wav}"])
        launched.append(b)
        return b

    return launch


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def shot(artifacts: Path, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``await shot(page, "name")`` saves a full-page screenshot as test-artifacts/browser/<test>-<name>.png."""
    test = re.sub(r"[^\w.-]+", "_", request.node.name)

    async def take(page: Any, name: str) -> Path:
        path = artifacts / f"{test}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take


def server_url(client: Any, path: str = "/") -> str:
    """Absolute URL of ``path`` on a ``make_client`` test server."""
    return str(client.make_url(path))


class PageWatch:
    """Collects a page's uncaught errors and console errors, so a test fails on a broken script."""

    IGNORED = ("favicon.ico", "net::ERR_", "WebSocket connection to", "Failed to load resource")

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Any, label: str) -> Any:
        page.on("pageerror", lambda exc: self.errors.append(f"{label}: uncaught {exc}"))

        def on_console(msg: Any) -> None:
            if msg.type == "error" and not any(s in msg.text for s in self.IGNORED):
                self.errors.append(f"{label}: console error {msg.text}")

        page.on("console", on_console)
        return page

    def check(self) -> None:
        assert not self.errors, "errors in the page:\n" + "\n".join(self.errors)


@pytest.fixture
def page_watch() -> PageWatch:
    return PageWatch()
