"""Escalation alerts cannot be missed (banner, title, repeated until acknowledged); possible duplicates
are shown with their evidence and can be merged from the console."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.test_console_unit import open_console

pytestmark = [pytest.mark.browser, pytest.mark.redis]


async def test_unacknowledged_order_raises_banner_until_acknowledged(make_client: Any, dispatch_api: Any,
                                                                      browser: Any, page_watch: Any,
                                                                      shot: Any) -> None:
    client = await make_client(env={"JINGYUN_ACK_TIMEOUT": "1", "JINGYUN_DISPATCH_SWEEP_INTERVAL": "0.1"})
    api = dispatch_api(client)
    first = await api.unit("P-101", lat=22.5412, lon=114.0612)
    await api.unit("P-202", lat=22.545, lon=114.065)
    incident = await api.incident("Armed robbery in progress at the jewellery shop on Fuhua Road, shots fired")
    console = await open_console(browser, client, page_watch)
    await expect(console.locator("#alert-banner")).to_be_hidden()
    await console.locator(f'#queue li[data-id="{incident["id"]}"] .inc-btn').click()
    await console.locator(f'#detail tr[data-unit="{first["id"]}"] button').click()

    # Nobody acknowledges within the deadline: the order expires and dispatchers are alerted.
    banner = console.locator("#alert-banner")
    await expect(banner).to_be_visible(timeout=10_000)
    await expect(console.locator("#alert-text")).to_contain_text(incident["number"])
    assert (await console.title()).startswith("⚠")
    await expect(console.locator('#orders li[data-state="expired"]')).to_contain_text("P-101")
    await shot(console, "alert")
    await console.get_by_role("button", name="Acknowledge alert").click()
    # Re-offers may raise more alerts; acknowledge each until none is pending.
    for _ in range(5):
        if not await banner.is_visible():
            break
        await console.get_by_role("button", name="Acknowledge alert").click()
    await expect(banner).to_be_hidden()
    assert not (await console.title()).startswith("⚠")
    page_watch.check()


async def test_possible_duplicate_is_shown_and_merged(make_client: Any, dispatch_api: Any, browser: Any,
                                                      page_watch: Any, shot: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    console = await open_console(browser, client, page_watch)
    text = "Fight outside Futian metro station exit A, two men punching each other"
    a = await api.incident(text, location_text="Futian metro station exit A")
    b = await api.incident("Two men punching each other in a fight outside Futian metro station exit A",
                           location_text="Futian metro station exit A")
    item_b = console.locator(f'#queue li[data-id="{b["id"]}"]')
    await expect(item_b).to_contain_text("possible duplicate")
    await console.locator(f'#queue li[data-id="{a["id"]}"] .inc-btn').click()
    dup = console.locator(f'#detail li[data-dup="{b["id"]}"]')
    await expect(dup).to_contain_text(b["number"])
    await shot(console, "duplicate")
    await dup.get_by_role("button", name=re.compile("Merge")).click()
    # The merged incident leaves the open queue; the kept one records the merge in its timeline.
    await expect(item_b).to_have_count(0)
    await expect(console.locator(f'#queue li[data-id="{a["id"]}"]')).not_to_contain_text("possible duplicate")
    await console.locator("#show-closed").check()
    await expect(item_b).to_have_attribute("data-status", "merged")
    page_watch.check()
