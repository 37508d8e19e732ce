"""An incident the scorer is unsure of is not a silent P3: the queue says "needs a human read" and puts
it above routine incidents until a dispatcher sets its priority, which is recorded (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.test_console_unit import open_console

pytestmark = [pytest.mark.browser, pytest.mark.redis]


async def test_uncertain_incident_needs_a_human_read_until_a_dispatcher_decides(
        make_client: Any, dispatch_api: Any, browser: Any, page_watch: Any, shot: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    routine = await api.incident("Someone stole my bike outside Shenzhen Library this afternoon")
    unsure = await api.incident("I want to tell you about something odd with my neighbour")
    assert routine["level"] == "P3" and not routine["facts"]["uncertain"]["uncertain"]
    assert unsure["facts"]["uncertain"] == {"uncertain": True, "reason": "no_rule_matched"}
    assert unsure["priority"] < routine["priority"], "scored lower than the routine theft"

    console = await open_console(browser, client, page_watch)
    item = console.locator(f'#queue li[data-id="{unsure["id"]}"]')
    await expect(item.locator(".badge.needs-read")).to_have_text("needs a human read")
    await expect(item).to_have_attribute("data-needs-read", "1")
    # Above the routine incident although its own score is lower.
    await expect(console.locator("#queue li[data-id]").first).to_have_attribute("data-id", unsure["id"])
    await expect(console.locator(f'#queue li[data-id="{routine["id"]}"] .badge.needs-read')).to_have_count(0)
    await shot(console, "needs-human-read")

    # The dispatcher reads it and decides; the decision is the audited priority override.
    await item.locator(".inc-btn").click()
    await expect(console.locator("#prio-reason")).to_be_visible()
    # Live events re-render the detail pane while the test types (what a person types survives a
    # re-render; an input Playwright had located just before one may be replaced): check each value
    # landed before submitting.
    for field, value in (("#prio-value", "4"), ("#prio-reason", "read the call: a neighbour dispute, routine")):
        for _ in range(3):
            await console.fill(field, value)
            if await console.locator(field).input_value() == value:
                break
        await expect(console.locator(field)).to_have_value(value)
    await console.get_by_role("button", name="Set", exact=True).click()
    await expect(console.locator(".toast").filter(has_text="Priority set to 4")).to_have_count(1)
    await expect(item.locator(".badge.needs-read")).to_have_count(0)
    await expect(item).to_have_attribute("data-needs-read", "")
    full = await api.call("GET", f"/api/incidents/{unsure['id']}")
    assert full["priority_override"]["reason"] == "read the call: a neighbour dispute, routine"

    # Chinese console: the same flag in Chinese.
    await console.evaluate("JY.setLang('zh')")
    other = await api.incident("我想讲下我邻居嘅事")
    await expect(console.locator(f'#queue li[data-id="{other["id"]}"] .badge.needs-read')).to_have_text(
        "需人工研判")
    page_watch.check()
