"""The case-file page in real Chromium, in zh and en: an officer registers evidence and uploads its file,
opens a case file with it and hands it to the case centre; the centre confirms and returns it for
correction; the officer takes it back and corrects it (a new version); an admin sees the counts.
Screenshots go to test-artifacts/browser/ (docs/images/cases-*.png are copies of three of them)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from tests.fixtures_browser import DESKTOP, server_url
from web import appkeys
from web.auth import Role, issue_token

pytestmark = [pytest.mark.browser, pytest.mark.redis]

CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64
ZONE = "Asia/Shanghai"


async def quiet_shot(shot: Any, page: Any, name: str) -> None:
    """A screenshot without the notices of earlier steps (they fade by themselves after a few seconds)."""
    await page.evaluate("document.querySelectorAll('#jy-toasts .toast').forEach((t) => t.remove())")
    await shot(page, name)


def local(minutes_ago: int) -> str:
    """A datetime-local value (seconds included) in the browser's zone."""
    t = dt.datetime.now(ZoneInfo(ZONE)) - dt.timedelta(minutes=minutes_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S")


async def page_for(browser: Any, page_watch: Any, client: Any, role: Role, subject: str, lang: str,
                   view: str = "board") -> Any:
    token = issue_token(client.server.app[appkeys.SECRET], role, subject=subject, ttl=600,
                        unit_id="u-" + subject if role is Role.OFFICER else None)
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN" if lang == "zh" else "en-US",
                                        timezone_id=ZONE)
    page = page_watch.attach(await context.new_page(), f"{subject}-{lang}")
    await page.goto(server_url(client, f"/cases?lang={lang}&view={view}&token={token}"))
    await expect(page.locator("#content")).to_be_visible()
    return page


async def test_case_file_page_walkthrough(make_client: Any, dispatch_api: Any, browser: Any, page_watch: Any,
                                          shot: Any) -> None:
    client = await make_client()
    incident = (await dispatch_api(client).incident())["id"]

    # 1. The officer (zh) registers a video; a missing confirmation is refused and the box is marked.
    wang = await page_for(browser, page_watch, client, Role.OFFICER, "wang.li", "zh", view="evidence")
    await expect(wang.locator("#e-ref")).to_be_hidden()
    await wang.fill("#e-incident", incident)
    await wang.fill("#e-title", "地铁A出口3号摄像头")
    await wang.fill("#e-purpose", "证明嫌疑人08:14拿走手机")
    await wang.fill("#e-device", "CAM-03")
    await wang.fill("#e-place", "福田地铁站A出口")
    await wang.fill("#e-owner", "深圳地铁")
    await wang.fill("#e-pulled", local(10))
    await wang.fill("#e-pplace", "地铁监控室")
    await wang.fill("#e-from", local(90))
    await wang.fill("#e-to", local(60))
    await wang.fill("#e-officer", "王立")
    await wang.fill("#e-badge", "031245")
    await wang.get_by_role("button", name="登记", exact=True).click()
    await expect(wang.locator("#ev-form .error-text")).to_contain_text("sign_off.confirmed")
    await expect(wang.locator("#e-confirm")).to_have_attribute("aria-invalid", "true")
    await wang.check("#e-confirm")
    await wang.get_by_role("button", name="登记", exact=True).click()
    await expect(wang.locator("#ev-d-title")).to_have_text("地铁A出口3号摄像头")
    await expect(wang.locator("#upload-form")).to_be_visible()
    await wang.set_input_files("#u-file", files=[{"name": "cam3-0814.mp4", "mimeType": "video/mp4", "buffer": CLIP}])
    await wang.get_by_role("button", name="上传", exact=True).click()
    await expect(wang.locator("#ev-sha")).to_have_text(hashlib.sha256(CLIP).hexdigest())
    await expect(wang.locator("#ev-facts")).to_contain_text("已保存")
    await expect(wang.locator("#trail tbody tr")).to_have_count(3)  # registered, viewed, file received
    await expect(wang.locator('#trail tr[data-event="file_received"]')).to_contain_text("接收文件")
    await wang.fill("#x-recipient", "福田区人民检察院")
    await wang.select_option("#x-format", "media")
    await wang.get_by_role("button", name="记录导出").click()
    await expect(wang.locator('#trail tr[data-event="exported"]')).to_contain_text("福田区人民检察院")
    await quiet_shot(shot, wang, "1-evidence-zh")

    # 2. The officer opens a case file from the incident, with the evidence, and hands it to the centre.
    await wang.locator("#tab-board").click()
    await wang.get_by_role("button", name="新建案卷").click()
    await expect(wang.locator("#o-officer")).to_have_value("wang.li")
    await wang.fill("#o-number", "深福公(刑)立字〔2026〕0117号")
    await wang.fill("#o-incident", incident)
    await wang.locator("#o-incident").dispatch_event("change")
    await expect(wang.locator("#o-items input[type=checkbox]")).to_have_count(1)
    await expect(wang.locator("#o-items input[type=checkbox]")).to_be_checked()
    await wang.fill("#o-title", "福田地铁站手机被盗案")
    await wang.get_by_role("button", name="建立案卷").click()
    await expect(wang.locator("#d-title")).to_contain_text("福田地铁站手机被盗案")
    await expect(wang.locator("#d-items li")).to_have_count(1)
    await expect(wang.locator("#d-chain")).to_have_text("哈希链完整")
    await wang.select_option("#p-to", "case_centre")
    await wang.fill("#p-note", "材料齐全，请审核")
    await wang.get_by_role("button", name="提交移交").click()
    await expect(wang.locator("#d-pending")).to_contain_text("待交接 → 案件管理中心")
    await expect(wang.locator("#board tbody tr")).to_have_count(1)
    await quiet_shot(shot, wang, "2-board-zh")

    # 3. The case centre (en) sees it waiting, confirms receipt, and returns it for correction.
    centre = await page_for(browser, page_watch, client, Role.CASE_CENTRE, "cc-liu", "en")
    row = centre.locator("#board tbody tr").first
    await expect(row).to_contain_text("hand-over → case management centre")
    await row.click()
    await centre.get_by_role("button", name="Confirm receipt").click()
    await expect(centre.locator("#d-facts")).to_contain_text("case management centre")
    await expect(centre.locator("#propose-form")).to_be_visible()
    await centre.select_option("#p-to", "officer")
    await expect(centre.locator("#p-officer")).to_have_value("wang.li")
    await centre.select_option("#p-purpose", "return_for_correction")
    await centre.get_by_role("button", name="Propose hand-over").click()  # no corrections listed: refused
    await expect(centre.locator("#propose-form .error-text")).to_contain_text("corrections")
    await centre.fill("#p-corrections", "the owner's statement is missing")
    await centre.get_by_role("button", name="Propose hand-over").click()
    await expect(centre.locator("#d-pending")).to_contain_text("Return for correction")
    await quiet_shot(shot, centre, "3-detail-en")

    # 4. The officer takes it back and corrects it: a new version, the chain still intact.
    await wang.reload()
    await wang.locator("#board tbody tr").first.click()
    await wang.get_by_role("button", name="确认接收").click()
    await expect(wang.locator("#d-facts")).to_contain_text("待补正")
    await wang.select_option("#c-kind", "document")
    await wang.fill("#c-ref", "DOC-2026-18")
    await wang.fill("#c-note", "失主陈述")
    await wang.fill("#c-reason", "补充失主陈述")
    await wang.get_by_role("button", name="保存为新版本").click()
    await expect(wang.locator("#d-versions li")).to_have_count(2)
    await expect(wang.locator("#d-chain")).to_have_text("哈希链完整")
    await expect(wang.locator("#d-items li")).to_have_count(2)

    # 5. An admin (en) reads the per-officer counts.
    admin = await page_for(browser, page_watch, client, Role.ADMIN, "admin-1", "en", view="counts")
    officer = admin.locator('#counts tr[data-officer="wang.li"] td')
    await expect(officer).to_have_text(["wang.li", "1", "0", "1", "1"])
    await quiet_shot(shot, admin, "4-counts-en")
    await admin.locator("#tab-board").click()
    await expect(admin.locator("#board tbody tr")).to_have_count(1)
    await expect(admin.locator("#board tbody tr").first).to_contain_text("awaiting correction")
    page_watch.check()
