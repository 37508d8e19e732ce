"""Console panels that the other browser tests reach only through real sub-systems: radio lines,
status from radio, suggestions from radio, kiosk drafts, the queue's keys, and the page-side P-level
of an incident that arrives without one. Events go through the console socket's own message handler
(the path a /ws/console message takes), so this also checks the ES modules are wired to each other.
Real server, real Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.test_console_unit import open_console

pytestmark = [pytest.mark.browser, pytest.mark.redis]

FEED = "(ev) => JY.consoleSocket.opts.onMessage(ev)"


async def test_radio_kiosk_and_queue_panels_from_live_events(make_client: Any, dispatch_api: Any, browser: Any,
                                                             page_watch: Any, shot: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    unit = await api.unit("P-101")
    urgent = await api.incident("Two men fighting with a knife outside Futian metro station exit A, one bleeding")
    minor = await api.incident("A bicycle was stolen from the rack outside the library last night")
    console = await open_console(browser, client, page_watch)
    now = await console.evaluate("new Date().toISOString()")

    # The server's level is shown as sent.
    for inc in (urgent, minor):
        await expect(console.locator(f'#queue li[data-id="{inc["id"]}"]')).to_have_attribute("data-level", inc["level"])
    # An incident that arrives with a priority and no level is labelled by levels.js's thresholds.
    await console.evaluate(FEED, {"type": "incident", "incident": {
        "id": "no-level", "number": "JY-NOLEVEL", "status": "new", "priority": 7, "created_at": now}})
    await expect(console.locator('#queue li[data-id="no-level"]')).to_have_attribute("data-level", "P2")
    await expect(console.locator('#queue li[data-id="no-level"] .badge.lvl-P2')).to_have_text("P2 · 7")

    # j / k move through the queue.
    buttons = console.locator("#queue .inc-btn")
    await buttons.nth(0).focus()
    await console.keyboard.press("j")
    await expect(buttons.nth(1)).to_be_focused()
    await console.keyboard.press("k")
    await expect(buttons.nth(0)).to_be_focused()

    # Radio: a filed transmission, a partial line, a spoken status change and a suggested incident.
    await console.evaluate(FEED, {"type": "radio", "transmission": {
        "id": "tx1", "channel_id": "ch1", "unit_id": unit["id"], "text": "P-101 en route", "state": "done",
        "start_utc": now}})
    await console.evaluate(FEED, {"type": "transcript", "transcript": {
        "channel": "ch2", "stream_id": "s1", "text": "shots heard near", "partial": True}})
    await console.evaluate(FEED, {"type": "radio_status", "update": {
        "id": "rs1", "unit_id": unit["id"], "callsign": "P-101", "from": "available", "to": "en_route",
        "state": "applied", "evidence": "en route", "created_at": now}})
    await console.evaluate(FEED, {"type": "radio_suggestion", "action": "suggested", "suggestion": {
        "id": "sg1", "state": "suggested", "level": "P2", "priority": 6, "category": "violent_crime",
        "text": "shots heard near the market", "channel_id": "ch2", "created_at": now}})
    await expect(console.locator('#channels [data-channel="ch1"] li.final')).to_contain_text("P-101 en route")
    await expect(console.locator('#channels [data-channel="ch2"] li.partial')).to_contain_text("shots heard near")
    status = console.locator('#radio-status li[data-update="rs1"]')
    await expect(status).to_contain_text("P-101")
    await expect(status.get_by_role("button", name="Undo")).to_be_visible()
    suggestion = console.locator('#suggestions li[data-suggestion="sg1"]')
    await expect(suggestion).to_contain_text("shots heard near the market")
    await expect(suggestion.locator(".badge.lvl-P2")).to_have_text("P2 · 6")
    await expect(suggestion.get_by_role("button", name="Create incident")).to_be_visible()

    # A kiosk draft being typed, then submitted as an incident that opens in the detail.
    await console.evaluate(FEED, {"type": "kiosk_draft", "draft": {
        "draft_id": "d1", "template_id": "lost_property", "fields": {"name": "Li Lei", "item": "wallet"},
        "preview": {"level": "P4", "category": "theft"}}})
    draft = console.locator('#drafts li[data-draft="d1"]')
    await expect(draft).to_contain_text("Li Lei")
    await expect(draft).to_contain_text("typing")
    await console.evaluate(FEED, {"type": "kiosk_draft", "draft": {
        "draft_id": "d1", "status": "submitted", "receipt": "JY-R1", "incident_id": minor["id"]}})
    await expect(draft).to_contain_text("JY-R1")
    await draft.get_by_role("button", name=minor["number"]).click()
    await expect(console.locator("#detail-number")).to_have_text(minor["number"])
    await shot(console, "panels")
    page_watch.check()
