"""A dispatcher dispatches from the console; the officer's phone page gets the order, acknowledges it and
reports on scene; the console shows each step. Real server, real Redis, real Chromium."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import token_for
from tests.fixtures_browser import DESKTOP, PHONE, server_url
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.redis]

# navigator.vibrate is recorded (the headless browser has no motor) and still called through.
RECORD_VIBRATE = """
window.__vibrations = [];
const realVibrate = navigator.vibrate ? navigator.vibrate.bind(navigator) : null;
navigator.vibrate = (p) => { window.__vibrations.push(p); return realVibrate ? realVibrate(p) : true; };
"""


async def open_console(browser: Any, client: Any, watch: Any, **ctx: Any) -> Any:
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", **ctx)
    page = watch.attach(await context.new_page(), "console")
    token = token_for(client.server.app, Role.DISPATCHER)
    await page.goto(server_url(client, f"/console?lang=en&token={token}"))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    # The token left the address bar once it was stored.
    assert "token=" not in page.url
    return page


async def open_unit(browser: Any, client: Any, watch: Any, unit_id: str, **ctx: Any) -> Any:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-US", **ctx)
    await context.add_init_script(RECORD_VIBRATE)
    page = watch.attach(await context.new_page(), "unit")
    token = token_for(client.server.app, Role.OFFICER, unit_id)
    await page.goto(server_url(client, f"/unit?lang=en&token={token}"))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    return page


async def test_dispatch_ack_on_scene_seen_on_console(make_client: Any, dispatch_api: Any, browser: Any,
                                                     page_watch: Any, shot: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    near = await api.unit("P-101", lat=22.5412, lon=114.0612)
    await api.unit("P-202", lat=22.60, lon=114.10)
    incident = await api.incident("Two men fighting with a knife outside Futian metro station exit A, one bleeding",
                                  location_text="Futian metro station exit A")

    console = await open_console(browser, client, page_watch)
    item = console.locator(f'#queue li[data-id="{incident["id"]}"]')
    await expect(item).to_be_visible()
    await expect(item).to_contain_text(incident["number"])
    # The reasons for the priority are one click away.
    await item.locator("summary").click()
    await expect(item.locator(".reasons li").first).to_be_visible()

    # The phone shares its position (Chromium's emulated GPS); the console's unit list has the new fix.
    officer = await open_unit(browser, client, page_watch, near["id"], permissions=["geolocation"],
                              geolocation={"latitude": 22.5415, "longitude": 114.0615, "accuracy": 8})
    await expect(officer.locator("#loc-state")).to_contain_text("Location shared")
    await expect(console.locator(f'#units tr[data-unit="{near["id"]}"]')).to_have_attribute("data-lat", "22.5415")
    await expect(officer.locator("#orders")).to_contain_text("No orders")
    # The phone asks for one tap so that orders can ring and vibrate; the officer taps it.
    await officer.get_by_role("button", name="turn on sound and vibration").click()
    await expect(officer.locator("#enable-alerts")).to_be_hidden()
    await expect(officer.locator("#callsign")).to_have_text("P-101")

    # The dispatcher selects the incident and dispatches the top recommendation with one click.
    await item.locator(".inc-btn").click()
    rec_row = console.locator(f'#detail tr[data-unit="{near["id"]}"]')
    await expect(rec_row).to_be_visible()
    await expect(console.locator("#detail .recs tr").first).to_have_attribute("data-unit", near["id"])
    await shot(console, "1-console-selected")
    await rec_row.get_by_role("button", name=re.compile("Dispatch")).click()
    await expect(console.locator("#orders li")).to_contain_text("P-101")
    await expect(console.locator("#orders li")).to_contain_text("offered")

    # The order appears on the phone at once, with vibration, and is acknowledged there.
    card = officer.locator("#orders li.order").first
    await expect(card).to_contain_text(incident["number"])
    await expect(card).to_contain_text("Futian metro station exit A")
    await expect(card.locator("a[data-nav]")).to_have_attribute("href", re.compile(r"^geo:22\.541"))
    assert await officer.evaluate("window.__vibrations.length") >= 2  # the tap's test buzz and the order
    await shot(officer, "2-unit-order")
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card).to_contain_text("Acknowledged")
    await expect(console.locator("#orders li")).to_contain_text("acknowledged")

    # On scene from the phone: the console's unit list, incident and timeline follow.
    await officer.get_by_role("button", name="On scene").click()
    await expect(officer.locator("#my-status")).to_have_text("on scene")
    await expect(console.locator(f'#units tr[data-unit="{near["id"]}"]')).to_have_attribute("data-status", "on_scene")
    await expect(console.locator("#detail-status")).to_have_text("on scene")
    await expect(console.locator("#timeline")).to_contain_text("on scene")
    await expect(console.locator("#map svg g.u")).to_have_count(2)
    await shot(console, "3-console-on-scene")
    await shot(officer, "4-unit-on-scene")
    # The dispatcher closes the job with its outcome (a dialog asks for it); it leaves the open queue.
    await console.get_by_role("button", name="Close incident").click()
    await console.locator("#close-dialog select").select_option("settled_on_scene")
    await console.locator("#close-dialog textarea").fill("Both men separated, one taken to hospital")
    await console.locator("#close-dialog").get_by_role("button", name="Close incident").click()
    await expect(console.locator("#detail-status")).to_have_text("closed")
    await expect(console.locator("#outcome")).to_contain_text("Settled on scene")
    await expect(item).to_have_count(0)
    page_watch.check()


async def test_orders_sent_while_phone_was_off_are_shown_on_return(make_client: Any, dispatch_api: Any,
                                                                   browser: Any, page_watch: Any, shot: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    unit = await api.unit("P-303")
    officer = await open_unit(browser, client, page_watch, unit["id"])
    await officer.context.close()  # the phone goes dark

    incident = await api.incident("Elderly man collapsed on Shennan Avenue, not breathing")
    await api.dispatch(incident["id"], unit["id"])

    officer = await open_unit(browser, client, page_watch, unit["id"])
    card = officer.locator("#orders li.order").first
    await expect(card).to_contain_text(incident["number"])
    await expect(card).to_contain_text("arrived while offline")
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card).to_contain_text("Acknowledged")
    await shot(officer, "unit-offline-order")
    page_watch.check()


async def test_console_reconnects_and_resyncs(make_client: Any, dispatch_api: Any, browser: Any,
                                              page_watch: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    console = await open_console(browser, client, page_watch)
    # Drop the console's socket as a network blip would; the pill says so and it comes back by itself.
    await console.evaluate("JY.consoleSocket.ws.close()")
    await expect(console.locator("#conn")).not_to_have_attribute("data-state", "open")
    incident = await api.incident("Shop window smashed on Huaqiang Road, suspects gone")
    await expect(console.locator("#conn")).to_have_attribute("data-state", "open")
    # Created while the socket was down: the snapshot on reconnect brings it in.
    await expect(console.locator(f'#queue li[data-id="{incident["id"]}"]')).to_be_visible()
    page_watch.check()


async def press_across(page: Any, button: Any, during: Any) -> None:
    """Press the button, run `during` (something that makes the page redraw), then release: a click whose
    press and release straddle a live update, as happens to people on a busy console or a phone."""
    box = await button.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await during()
    await asyncio.sleep(1.0)  # the update has reached the page (it is held, not dropped)
    await page.mouse.up()


async def test_click_survives_a_redraw_between_press_and_release(make_client: Any, dispatch_api: Any,
                                                                 browser: Any, page_watch: Any) -> None:
    """An event that redraws the detail while the dispatcher's mouse button is down must not swallow the
    click: the press lands on the old button, the release would land on its copy, and the browser then
    sends the click to neither (CI caught "Close incident" doing nothing this way). The officer's phone
    holds its redraws the same way (JY.afterPress in common.js)."""
    client = await make_client()
    api = dispatch_api(client)
    await api.unit("P-101", lat=22.5412, lon=114.0612)
    incident = await api.incident("Two men fighting with a knife outside Futian metro station exit A, one bleeding",
                                  location_text="Futian metro station exit A")
    console = await open_console(browser, client, page_watch)
    await console.locator(f'#queue li[data-id="{incident["id"]}"] .inc-btn').click()
    button = console.locator("#detail").get_by_role("button", name="Close incident")
    await expect(button).to_be_enabled()
    # The detail has settled (its recommendations loaded), so the button found is the one pressed.
    await expect(console.locator("#detail .recs")).to_be_visible()

    async def caller_adds() -> None:
        await api.call("POST", f"/api/incidents/{incident['id']}/text", json={"text": "The second man ran north"})

    await press_across(console, button, caller_adds)
    await expect(console.locator("#close-dialog")).to_be_visible()
    # The held redraw ran after the release: the timeline has the caller's addition.
    await console.locator("#close-dialog").get_by_role("button", name="Cancel").click()
    await expect(console.locator("#detail")).to_contain_text("The second man ran north")
    page_watch.check()


async def test_phone_shows_what_the_caller_adds_after_dispatch(make_client: Any, dispatch_api: Any, browser: Any,
                                                               page_watch: Any) -> None:
    """The officer on the way sees the caller's later words on the order card, marked as an update."""
    client = await make_client()
    api = dispatch_api(client)
    unit = await api.unit("P-101", lat=22.5412, lon=114.0612)
    incident = await api.incident("Two men fighting with a knife outside Futian metro station exit A, one bleeding",
                                  location_text="Futian metro station exit A")
    await api.dispatch(incident["id"], unit["id"])
    officer = await open_unit(browser, client, page_watch, unit["id"])
    await officer.get_by_role("button", name="turn on sound and vibration").click()
    card = officer.locator("#orders li.order").filter(has_text=incident["number"])
    await expect(card).to_be_visible()
    await expect(card.locator(".updated-tag")).to_have_count(0)

    await api.call("POST", f"/api/incidents/{incident['id']}/text",
                   json={"text": "The one with the knife wears a red jacket", "source": "call"})
    await expect(card).to_contain_text("The one with the knife wears a red jacket")
    await expect(card.locator(".updated-tag")).to_contain_text("updated")
    await expect(officer.locator("#orders-live")).to_contain_text("red jacket")
    # The card is still the order to acknowledge: the update did not change its state.
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card).to_contain_text("Acknowledged")
    await expect(card).to_contain_text("red jacket")
    page_watch.check()
