"""Every page: served without a token, asks for one, refuses a bad or wrong-role token with a reason,
switches between zh-CN and en, and lays out at phone width. Screenshots of each page are saved."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import token_for
from tests.fixtures_browser import DESKTOP, PHONE, server_url
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.redis]

PAGES = {"console": Role.DISPATCHER, "unit": Role.OFFICER, "interview": Role.INTERVIEWER,
         "kiosk": Role.KIOSK, "brief": Role.ADMIN}


async def test_pages_ask_for_a_token_and_explain_refusals(make_client: Any, browser: Any, page_watch: Any,
                                                          shot: Any) -> None:
    client = await make_client()
    context = await browser.new_context(viewport=PHONE, is_mobile=True, locale="en-US")
    page = page_watch.attach(await context.new_page(), "pages")
    for name in PAGES:
        resp = await page.goto(server_url(client, f"/{name}?lang=en"))
        assert resp is not None and resp.status == 200
        box = page.locator("#jy-token-input")
        await expect(box).to_be_visible()
        await expect(box).to_be_focused()
        await expect(page.locator("#content")).to_be_hidden()
        await shot(page, f"{name}-signin-phone")
        # A garbage token is refused with the server's reason, and the box stays.
        await box.fill("not-a-token")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#jy-token-error")).to_contain_text("Token not accepted")
    # A valid token of the wrong role names the roles the page needs.
    await page.goto(server_url(client, "/console?lang=en"))
    await page.fill("#jy-token-input", token_for(client.server.app, Role.OFFICER, "u1"))
    await page.keyboard.press("Enter")
    await expect(page.locator("#jy-token-error")).to_contain_text("needs a dispatcher / admin token")
    # Pasting a right one opens the console.
    await page.fill("#jy-token-input", token_for(client.server.app, Role.DISPATCHER))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#content")).to_be_visible()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    page_watch.check()


async def test_language_switch_and_layouts(make_client: Any, dispatch_api: Any, browser: Any, page_watch: Any,
                                           shot: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    await api.unit("P-101", lat=22.5412, lon=114.0612)
    await api.incident("Fire in a residential building on Yitian Road, people trapped on the 5th floor",
                       location_text="Yitian Road")
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = page_watch.attach(await context.new_page(), "lang")
    token = token_for(client.server.app, Role.DISPATCHER)
    await page.goto(server_url(client, f"/console?token={token}"))
    await expect(page.locator("h1")).to_have_text("调度台")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.locator("#queue li[data-id]")).to_have_count(1)
    await expect(page.locator("#conn")).to_have_text("已连接")
    await shot(page, "console-zh-desktop")
    await page.get_by_role("button", name="Switch language to English").click()
    await expect(page.locator("h1")).to_have_text("Dispatcher console")
    await expect(page.locator("#conn")).to_have_text("Connected")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    # The choice is remembered; the token is kept for this tab only (sessionStorage).
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Dispatcher console")
    await expect(page.locator("#content")).to_be_visible()
    # Keyboard: the queue is reachable and an incident opens with Enter.
    await page.locator("#queue .inc-btn").first.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#detail-number")).to_be_visible()
    await page.set_viewport_size(PHONE)
    await shot(page, "console-en-phone")
    # The page is no wider than the phone: nothing to scroll sideways.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1

    for name, role in PAGES.items():
        unit = (await api.unit(f"Q-{name}"))["id"] if role is Role.OFFICER else None
        tok = token_for(client.server.app, role, unit)
        await page.goto(server_url(client, f"/{name}?lang=zh&token={tok}"))
        await expect(page.locator("#content")).to_be_visible()
        await page.wait_for_timeout(300)
        await shot(page, f"{name}-zh-phone")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{name} is {width}px wide at phone width"
    page_watch.check()


async def _console_whose_sign_in_expired(client: Any, dispatch_api: Any, browser: Any, page_watch: Any,
                                         label: str) -> tuple[Any, dict[str, Any]]:
    """A console signed in with a 3 s token and left until it expired; the page and an incident in its
    queue (clicking it makes the page's next calls, which the server refuses)."""
    incident = await dispatch_api(client).incident("Noise complaint on Jintian Road, loud music after midnight")
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    page = page_watch.attach(await context.new_page(), label)
    expiring = token_for(client.server.app, Role.DISPATCHER, ttl=3)
    await page.goto(server_url(client, f"/console?lang=en&token={expiring}"))
    await expect(page.locator(f'#queue li[data-id="{incident["id"]}"]')).to_be_visible()
    await page.wait_for_timeout(3500)
    return page, incident


async def test_expired_sign_in_brings_back_the_sign_in_box(make_client: Any, dispatch_api: Any, browser: Any,
                                                           page_watch: Any) -> None:
    client = await make_client()
    page, incident = await _console_whose_sign_in_expired(client, dispatch_api, browser, page_watch, "expiry")
    # The next call is refused: the page says why and asks for a new token instead of failing quietly.
    await page.locator(f'#queue li[data-id="{incident["id"]}"] .inc-btn').click()
    await expect(page.locator("#jy-token-error")).to_contain_text("Your sign-in has expired")
    await page.fill("#jy-token-input", token_for(client.server.app, Role.DISPATCHER))
    await page.keyboard.press("Enter")
    await expect(page.locator("#content")).to_be_visible()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    page_watch.check()


async def test_a_late_refusal_of_the_old_token_does_not_sign_out_the_new_one(
        make_client: Any, dispatch_api: Any, browser: Any, page_watch: Any) -> None:
    """Calls sent before the sign-in expired come back 401 after the dispatcher has pasted a new token:
    they must neither clear the new token nor redraw the box under the dispatcher's typing."""
    client = await make_client()
    page, incident = await _console_whose_sign_in_expired(client, dispatch_api, browser, page_watch, "late-401")

    async def late(route: Any, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await route.continue_()

    # The incident's recommendations (asked right after its detail) answer 1.5 s late; the new token's
    # check answers 3 s late, so the stale 401 lands between pasting the new token and its acceptance.
    await page.route("**/recommendations", lambda route: late(route, 1.5))
    await page.route("**/api/whoami", lambda route: late(route, 3.0))
    await page.locator(f'#queue li[data-id="{incident["id"]}"] .inc-btn').click()
    await expect(page.locator("#jy-token-error")).to_contain_text("Your sign-in has expired")
    await page.fill("#jy-token-input", token_for(client.server.app, Role.DISPATCHER))
    await page.keyboard.press("Enter")
    await expect(page.locator("#content")).to_be_visible(timeout=10_000)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    assert await page.evaluate("JY.token()") != ""
    page_watch.check()
