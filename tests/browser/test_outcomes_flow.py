"""Outcomes and AI accountability in the pages, real server, real Redis, real Chromium: the dispatcher
closes an incident from the console with an outcome code and a note; the officer's phone page adds a
field note with a photo and closes its own job with an outcome; the console shows the note, the photo and
the outcome; the daily brief shows the accountability section, in English and in Chinese."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.browser.test_console_unit import open_console, open_unit
from tests.conftest import token_for
from tests.fixtures_browser import DESKTOP, server_url
from web import appkeys
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def png(width: int = 96, height: int = 64) -> bytes:
    """A real (decodable) PNG: a colour gradient, so the console must actually show an image."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 2 % 256, y * 4 % 256, 160))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_close_with_outcome_field_report_and_brief(make_client: Any, dispatch_api: Any, browser: Any,
                                                        page_watch: Any, shot: Any) -> None:
    client = await make_client()
    api = dispatch_api(client)
    p1 = await api.unit("P-101", lat=22.5412, lon=114.0612)
    await api.unit("P-202", lat=22.60, lon=114.10)
    fight = await api.incident("Two men fighting with a knife outside Futian metro station exit A, one bleeding",
                               location_text="Futian metro station exit A")
    noise = await api.incident("Loud music from a flat on Fuhua Road after midnight, neighbours complaining",
                               location_text="Fuhua Road 12")

    # The console: the top recommendation is dispatched, the order says so; then closed with an outcome.
    console = await open_console(browser, client, page_watch)
    await console.locator(f'#queue li[data-id="{fight["id"]}"] .inc-btn').click()
    await console.locator("#detail .recs tr").first.get_by_role("button", name=re.compile("Dispatch")).click()
    await expect(console.locator("#orders li .verdict")).to_have_text("top recommendation")
    await expect(console.locator("#level-record")).to_contain_text("machine level accepted")
    await console.get_by_role("button", name="Close incident").click()
    dialog = console.locator("#close-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Close incident").click()  # nothing chosen: the dialog says so
    await expect(dialog.locator("#close-error")).to_have_text("Choose the outcome.")
    await dialog.get_by_label("Outcome").select_option("arrest")
    await dialog.get_by_label("What was found and done").fill("Suspect arrested on scene, knife seized; "
                                                              "victim to hospital")
    await shot(console, "console-close-dialog")
    await dialog.get_by_role("button", name="Close incident").click()
    await expect(dialog).to_have_count(0)
    await expect(console.locator("#detail-status")).to_have_text("closed")
    await expect(console.locator("#outcome")).to_contain_text("Arrest made")
    await expect(console.locator("#outcome")).to_contain_text("knife seized")

    # The officer's phone (in Chinese): the second job, acknowledged, a note with a photo, closed from the field.
    await api.dispatch(noise["id"], p1["id"])
    officer = await open_unit(browser, client, page_watch, p1["id"])
    await officer.locator("#jy-lang").click()  # en -> zh
    await expect(officer.locator("html")).to_have_attribute("lang", "zh-CN")
    card = officer.locator('#orders li.order[data-state="offered"]').first
    await expect(card).to_contain_text(noise["number"])
    await card.get_by_role("button", name="确认接收").click()
    report = officer.locator(f'section.field-report[data-incident="{noise["id"]}"]')
    await expect(report).to_be_visible()
    await report.get_by_label("记录内容", exact=True).fill("音乐已关小，住户已道歉")
    await report.get_by_label("照片（可选）").set_input_files(
        {"name": "scene.png", "mimeType": "image/png", "buffer": png()})
    await report.get_by_role("button", name="添加记录").click()
    await expect(report.locator(".notes li")).to_contain_text("音乐已关小")
    await expect(report.locator(".notes li .photo-state")).to_contain_text("照片已保存")
    await report.get_by_label("处警结果", exact=True).select_option("settled_on_scene")
    await report.get_by_label("处置情况（必填）").fill("现场劝导，音乐已停止")
    await shot(officer, "unit-field-report")
    await report.get_by_role("button", name="结束警情").click()
    await expect(report.locator(".closed-note")).to_contain_text("现场处置完毕")
    await expect(report.locator("form.close-form")).to_be_hidden()

    # Back on the console: the note, its photo (decoded, with the hash the server recorded) and the outcome.
    await console.locator("#show-closed").check()
    await console.locator(f'#queue li[data-id="{noise["id"]}"] .inc-btn').click()
    await expect(console.locator("#detail-status")).to_have_text("closed")
    notes = console.locator("#field-notes li")
    await expect(notes).to_have_count(1)
    await expect(notes).to_contain_text("音乐已关小")
    img = notes.locator("img.field-photo")
    await expect(img).to_have_attribute("src", re.compile("^blob:"))
    await console.wait_for_function("() => { const i = document.querySelector('#field-notes img.field-photo');"
                                    " return !!i && i.complete && i.naturalWidth === 96; }")
    await expect(console.locator("#outcome")).to_contain_text("Settled on scene")
    await shot(console, "console-field-notes")

    # The daily brief: the accountability section, per level and per category, then in Chinese.
    tz = client.server.app[appkeys.SETTINGS].intel.timezone
    today = dt.datetime.now(ZoneInfo(tz)).date().isoformat()
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    brief = page_watch.attach(await context.new_page(), "brief")
    token = token_for(client.server.app, Role.ADMIN)
    await brief.goto(server_url(client, f"/brief?lang=en&date={today}&token={token}"))
    section = brief.locator('[data-chart="accountability"]')
    await expect(section).to_contain_text("AI accountability")
    await expect(section.locator("#acc-levels thead")).to_contain_text("top unit chosen")
    await expect(section.locator('#acc-levels tr[data-group="all"] td').nth(1)).to_have_text("2")
    await expect(section.locator('#acc-outcomes tr[data-what="units"][data-verdict="accepted"]')) \
        .to_contain_text(re.compile("Arrest made 1"))
    await section.scroll_into_view_if_needed()
    await shot(brief, "brief-accountability")
    await brief.locator("#jy-lang").click()
    await expect(section.locator("#acc-levels thead")).to_contain_text("首选单位采纳率")
    await expect(section).to_contain_text("抓获/刑事拘留 1")
    page_watch.check()
