"""Degraded modes on the dispatcher console (D9): the status strip names each component that /readyz
reports not ready, says what it means for the dispatcher, and goes away when the component recovers;
the console keeps working meanwhile.

Real conditions, nothing under test mocked: a model path that does not exist (the real loader fails),
a private ``redis-server`` SIGKILLed under the app and started again on the same port, and a disk
reserve larger than the disk (the real free-space check decides). Screenshots in test-artifacts/browser/.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.test_console_unit import open_console, open_unit
from tests.conftest import token_for
from tests.fixtures_browser import PHONE, server_url
from tests.reliability.helpers import RedisProcess
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.redis]

# Waits (not timings): the console polls /readyz every 5 s; the model loader and Redis take their time.
SEEN_WITHIN_MS = 30_000


def item(page: Any, component: str) -> Any:
    return page.locator(f'#health li[data-component="{component}"]')


async def dispatch_from_console(page: Any, incident_id: str, unit_id: str) -> None:
    """Select the incident in the queue and click Dispatch on the unit's recommendation row."""
    await page.locator(f'#queue li[data-id="{incident_id}"] .inc-btn').click()
    await page.locator(f'#detail tr[data-unit="{unit_id}"]').get_by_role("button", name=re.compile("Dispatch")).click()


async def test_model_not_loaded_banner_while_dispatch_works(make_client: Any, dispatch_api: Any, browser: Any,
                                                            page_watch: Any, shot: Any, tmp_path: Path) -> None:
    client = await make_client(env={"JINGYUN_LOAD_MODEL": "1", "JINGYUN_MODEL": str(tmp_path / "no-such-model")})
    api = dispatch_api(client)
    unit = await api.unit("P-101", lat=22.5412, lon=114.0612)
    incident = await api.incident("Two men fighting with a knife outside Futian metro station exit A")
    phone = await api.unit_ws(unit["id"])
    console = await open_console(browser, client, page_watch)

    # The strip names the model, what it means, and the server's reason; it is a polite live region.
    strip = console.locator("#health")
    await expect(strip).to_have_attribute("role", "status")
    model = item(console, "model")
    await expect(model).to_contain_text("Speech model not loaded: live transcription unavailable",
                                        timeout=SEEN_WITHIN_MS)
    await expect(model).to_contain_text("dispatch works")
    ready = await (await client.get("/readyz")).json()
    detail = ready["components"]["model"]["detail"]
    assert ready["components"]["model"]["status"] == "not_ready" and "; fix:" in detail, ready
    await expect(model.locator(".health-text")).to_contain_text(detail.split("; fix:")[0])
    # Keyboard: the next Tab stop after the top bar is the strip's Details, which opens with Enter and
    # shows the operator's fix.
    await console.locator("#jy-signout").focus()
    await console.keyboard.press("Tab")
    summary = model.locator("summary")
    await expect(summary).to_be_focused()
    await console.keyboard.press("Enter")
    await expect(model.locator("code")).to_be_visible()
    await expect(model.locator("code")).to_contain_text("fix:")
    await shot(console, "model-not-loaded")

    # Dispatch works in the same page, with the strip up: select, dispatch, the phone gets the order.
    await dispatch_from_console(console, incident["id"], unit["id"])
    await expect(console.locator("#orders li")).to_contain_text("offered")
    order = (await phone.orders(1, wait_s=10))[0]
    assert order["incident_id"] == incident["id"]
    await phone.send({"type": "ack", "order_id": order["id"]})
    await expect(console.locator("#orders li")).to_contain_text("acknowledged")
    # The strip stays while the model is still missing (it is not a notice to click away).
    await expect(model).to_be_visible()
    await phone.close()
    page_watch.check()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A private redis-server; listed before make_client in the test so the app stops before it does."""
    redis = RedisProcess(tmp_path / "redis")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


async def test_redis_killed_banner_then_gone_when_it_returns(private_redis: RedisProcess, make_client: Any,
                                                             dispatch_api: Any, browser: Any, page_watch: Any,
                                                             shot: Any) -> None:
    client = await make_client(env={"REDIS_URL": private_redis.url, "JINGYUN_ACK_TIMEOUT": "600",
                                    "JINGYUN_DISPATCH_SWEEP_INTERVAL": "0.2"})
    api = dispatch_api(client)
    unit = await api.unit("P-101", lat=22.5412, lon=114.0612)
    incident = await api.incident("Armed robbery at the bank on Shennan Road, two men with knives")
    console = await open_console(browser, client, page_watch)
    officer = await open_unit(browser, client, page_watch, unit["id"])
    await expect(officer.locator("#orders")).to_contain_text("No orders")
    redis = item(console, "redis")
    await expect(console.locator("#queue li[data-id]")).to_have_count(1)
    await expect(redis).to_have_count(0)

    private_redis.stop(signal.SIGKILL)
    await expect(redis).to_contain_text("Redis unreachable: orders are kept in the database and sent when it returns",
                                        timeout=SEEN_WITHIN_MS)
    await expect(redis.locator("code")).to_contain_text("ping failed")  # the server's own reason, under Details
    # The live-event subscription went with it: the console says it may miss updates.
    await expect(item(console, "dispatch")).to_contain_text("Live events not subscribed", timeout=SEEN_WITHIN_MS)

    # The console still works: the dispatcher dispatches, and is told the order waits in the database.
    await dispatch_from_console(console, incident["id"], unit["id"])
    await expect(console.locator("#jy-toasts")).to_contain_text("the order is kept in the database")
    await expect(console.locator("#orders li")).to_contain_text("offered")
    await shot(console, "redis-down")

    private_redis.start()
    await expect(redis).to_have_count(0, timeout=SEEN_WITHIN_MS)
    await expect(item(console, "dispatch")).to_have_count(0, timeout=SEEN_WITHIN_MS)
    # One toast or two, depending on which probe saw which component come back first.
    await expect(console.locator("#jy-toasts")).to_contain_text(re.compile(r"Recovered: [^×]*Redis"))
    # Unit events published while Redis was away never reached the console; it has caught up since.
    await expect(console.locator(f'#units tr[data-unit="{unit["id"]}"]')).to_have_attribute("data-status", "dispatched")
    # The order kept in the database reaches the phone now that Redis is back; the console follows.
    card = officer.locator("#orders li.order").first
    await expect(card).to_contain_text(incident["number"], timeout=SEEN_WITHIN_MS)
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(console.locator("#orders li")).to_contain_text("acknowledged", timeout=SEEN_WITHIN_MS)
    await shot(console, "redis-back")
    page_watch.check()


async def test_disk_nearly_full_banner_in_chinese_at_phone_width(make_client: Any, browser: Any, page_watch: Any,
                                                                 shot: Any) -> None:
    """A reserve larger than the disk stands in for a full disk (the real free-space check decides)."""
    client = await make_client(env={"JINGYUN_AUDIO_MIN_FREE_MB": str(10**9)})
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = page_watch.attach(await context.new_page(), "console")
    token = token_for(client.server.app, Role.DISPATCHER)
    await page.goto(server_url(client, f"/console?lang=zh&token={token}"))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    disk = item(page, "disk")
    await expect(disk).to_contain_text("磁盘将满：新的录音（询问、电台录音）被拒收", timeout=SEEN_WITHIN_MS)
    await expect(disk.locator("code")).to_contain_text("new audio is refused")
    # Readable at phone width: the strip wraps, nothing scrolls sideways.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    await shot(page, "disk-zh-phone")
    # The language switch re-renders the strip in place.
    await page.locator("#jy-lang").click()
    await expect(disk).to_contain_text("Disk nearly full: new audio (interview and radio recordings) is refused")
    page_watch.check()
