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
    client = await make_client(env={"JINGYUN_ACK_TIMEOUT": "1", "JINGYUN_DISPATCH_SWEEP_INTERVAL": "0.1",
                                    "JINGYUN_MAX_REOFFERS": "1"})
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
    # The re-offer to P-202 expires too; then escalation is over and every alert is on the console.
    await expect(console.locator('#orders li[data-state="expired"]')).to_have_count(2, timeout=10_000)
    await console.wait_for_timeout(500)
    pending = await console.evaluate("JY.consoleState.alerts.filter((a) => !a.acked).length")
    assert pending >= 2
    for _ in range(pending):
        await expect(banner).to_be_visible()
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
    # Merging asks first; the dispatcher confirms.
    console.once("dialog", lambda dialog: dialog.accept())
    await dup.get_by_role("button", name=re.compile("Merge")).click()
    # The merged incident leaves the open queue; the kept one records the merge in its timeline.
    await expect(item_b).to_have_count(0)
    await expect(console.locator(f'#queue li[data-id="{a["id"]}"]')).not_to_contain_text("possible duplicate")
    await console.locator("#show-closed").check()
    await expect(item_b).to_have_attribute("data-status", "merged")
    page_watch.check()


async def test_new_incident_form_and_tile_map(make_client: Any, dispatch_api: Any, browser: Any, page_watch: Any,
                                              shot: Any) -> None:
    """A dispatcher types in a call; with a tile server configured the map draws tiles under the points."""
    import base64

    client = await make_client(env={"JINGYUN_MAP_TILE_URL": "https://tiles.test/{z}/{x}/{y}.png"})
    api = dispatch_api(client)
    await api.unit("P-101", lat=22.5412, lon=114.0612)
    console = await open_console(browser, client, page_watch)
    # A 1x1 grey PNG stands in for the deployment's tile server (no network here).
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81yt"
                           "gAAAABJRU5ErkJggg==")
    tiles: list[str] = []

    async def serve_tile(route: Any) -> None:
        tiles.append(route.request.url)
        await route.fulfill(status=200, content_type="image/png", body=png)

    await console.route("https://tiles.test/**", serve_tile)
    await console.reload()
    await expect(console.locator("#map-mode")).to_have_text("(tile map)")
    await expect(console.locator("#map img.tile").first).to_be_attached()
    assert any(re.search(r"/\d+/\d+/\d+\.png$", u) for u in tiles)

    await console.get_by_role("button", name="New incident").click()
    await expect(console.locator("#ni-text")).to_be_focused()
    await console.get_by_role("button", name="Create incident").click()
    await expect(console.locator("#ni-error")).to_have_text("Describe what happened.")
    await console.fill("#ni-text", "Caller reports a man threatening passers-by with a knife at Coco Park")
    await console.fill("#ni-loc", "Coco Park")
    await console.fill("#ni-lat", "95")
    await console.fill("#ni-lon", "114.05")
    await console.get_by_role("button", name="Create incident").click()
    await expect(console.locator("#ni-error")).to_contain_text("Latitude must be -90 to 90")
    await console.fill("#ni-lat", "22.533")
    await console.get_by_role("button", name="Create incident").click()
    await expect(console.locator("#detail")).to_contain_text("Coco Park")
    await expect(console.locator("#queue li[data-id]")).to_have_count(1)
    await expect(console.locator("#map svg g.i")).to_have_count(1)
    await shot(console, "tiles-new-incident")
    # The dispatcher knows better (the caller saw a toy knife): the priority is set by hand, with a reason.
    await console.fill("#prio-value", "2")
    await console.get_by_role("button", name="Set", exact=True).click()
    await expect(console.locator("#prio-error")).to_have_text("Say why you change it.")
    await console.fill("#prio-reason", "caller confirms it was a toy knife")
    await console.get_by_role("button", name="Set", exact=True).click()
    await expect(console.locator("#queue li[data-id]").first).to_have_attribute("data-level", "P4")
    await expect(console.locator("#override")).to_contain_text("toy knife")
    page_watch.check()
