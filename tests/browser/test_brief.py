"""The daily brief shows the analysis API's figures as charts, navigates by day and shows empty days."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.conftest import token_for
from tests.fixtures_browser import DESKTOP, PHONE, server_url
from web import appkeys
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.redis]


async def test_daily_brief_charts(make_client: Any, dispatch_api: Any, browser: Any, page_watch: Any,
                                  shot: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    await api.incident("Man with a knife threatening people at Futian metro station exit A")
    await api.incident("My e-bike was stolen outside Coco Park last night", lat=22.533, lon=114.055)
    await api.incident("Car crash on Shennan Avenue, two cars, nobody hurt", lat=22.540, lon=114.050)
    tz = client.server.app[appkeys.SETTINGS].intel.timezone
    today = dt.datetime.now(ZoneInfo(tz)).date().isoformat()

    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    page = page_watch.attach(await context.new_page(), "brief")
    token = token_for(client.server.app, Role.ADMIN)
    await page.goto(server_url(client, f"/brief?lang=en&date={today}&token={token}"))
    await expect(page.locator('[data-card="total"] .v')).to_have_text("3")
    await expect(page.locator('[data-chart="by_category"]')).to_contain_text("weapons")
    await expect(page.locator('[data-chart="by_hour"] .hours div')).to_have_count(24)
    await expect(page.locator('[data-chart="by_level"]')).to_be_visible()
    await shot(page, "1-desktop")
    await page.set_viewport_size(PHONE)
    await shot(page, "2-phone")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1

    # The day before has nothing: an explicit empty state, not a blank page.
    await page.get_by_role("button", name="Previous day").click()
    await expect(page.locator("#brief")).to_contain_text("No incidents recorded on")
    page_watch.check()
