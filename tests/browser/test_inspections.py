"""The inspections page (/inspections) in real Chromium, walking the whole chain with each role's token:
the fire office registers a building (zh), its manager sees only their building and submits a self-check
with a photo (zh), the grid worker accepts it (en), the fire office escalates the hazard (zh, then
switched to en), the dispatcher console shows the overdue step as an alert in Chinese, and the fire
police open an incident for dispatch and resolve the task (en). Screenshots of each step are saved.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from typing import Any

import pytest
from playwright.async_api import expect

from tests.fixtures_browser import PHONE, server_url
from web import appkeys
from web.auth import Role, issue_token

pytestmark = [pytest.mark.browser, pytest.mark.redis]

# A little narrower than DESKTOP: the screenshots go into docs/inspections.md (each under 200 KB).
VIEWPORT = {"width": 1200, "height": 800}


def png(width: int = 64, height: int = 48) -> bytes:
    """A real PNG photo (flat colour blocks: a grey stairwell, a dark e-bike, a red charger)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    def colour(x: int, y: int) -> tuple[int, int, int]:
        if 36 <= x < 44 and 10 <= y < 18:
            return (200, 30, 30)
        if 12 <= x < 40 and 24 <= y < 40:
            return (40, 40, 48)
        return (170, 170, 160) if y < 30 else (120, 110, 100)

    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in colour(x, y)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def test_inspection_workflow_through_the_page(make_client: Any, browser: Any, page_watch: Any,
                                                    shot: Any) -> None:
    client = await make_client(env={"JINGYUN_INSPECTION_DEADLINE_ESCALATED_HOURS": "0.0004",  # 1.4 s
                                     "JINGYUN_INSPECTION_OVERDUE_CHECK_SECONDS": "0.2"})
    app = client.server.app

    def token(role: Role, subject: str, grids: tuple[str, ...] = ()) -> str:
        return issue_token(app[appkeys.SECRET], role, subject=subject, grids=grids, ttl=600)

    other = {"name": "新洲花园 3 栋", "address": "深圳市福田区新洲路 3 号", "lat": 22.53, "lon": 114.04,
             "building_type": "residential", "floors_above": 18, "grid_id": "G2",
             "manager": {"id": "mgr-li", "name": "李经理", "phone": "13900139000"}}
    resp = await client.post("/api/buildings", json=other,
                             headers={"Authorization": f"Bearer {token(Role.FIRE_OFFICE, 'office-zhou')}"})
    assert resp.status == 201

    async def open_as(role: Role, subject: str, lang: str, path: str = "/inspections",
                      grids: tuple[str, ...] = (), hold_list_s: float = 0.0) -> Any:
        context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN" if lang == "zh" else "en-US")
        page = page_watch.attach(await context.new_page(), subject)
        if hold_list_s:  # the first building list answers late, as on a slow link
            held = [hold_list_s]

            async def late(route: Any) -> None:
                if route.request.method == "GET" and held:
                    await asyncio.sleep(held.pop())
                await route.continue_()

            await page.route("**/api/buildings", late)
        sep = "&" if "?" in path else "?"
        await page.goto(server_url(client, f"{path}{sep}lang={lang}&token={token(role, subject, grids)}"))
        await expect(page.locator("#content")).to_be_visible()
        return page

    # ---- the fire office registers the building through the page (zh) -------------------------------------
    office = await open_as(Role.FIRE_OFFICE, "office-zhou", "zh", hold_list_s=1.0)
    await office.get_by_role("button", name="登记楼栋").click()
    form = office.locator("form.record-form")
    # The list (one building) arrives after the form was opened: the form stays, nothing is opened over it.
    await expect(office.locator("#buildings li[data-id]")).to_have_count(1)
    record = {"name": "上沙村 12 栋", "building_code": "SS-0012", "address": "深圳市福田区上沙村东十一坊 12 号",
              "lat": "22.5299", "lon": "114.0247", "floors_above": "0", "grid_id": "G1",
              "manager.id": "mgr-wang", "manager.name": "王建国", "manager.phone": "138-0013-8000"}
    for name, value in record.items():
        await form.locator(f'[name="{name}"]').fill(value)
    await form.locator('[name="building_type"]').select_option("urban_village")
    await form.get_by_role("button", name="登记楼栋").click()
    # The server's reason is shown and the field it names is marked.
    await expect(form.locator(".form-error")).to_contain_text("floors_above")
    await expect(form.locator('[name="floors_above"]')).to_have_class("field-error")
    await form.locator('[name="floors_above"]').fill("8")
    await form.get_by_role("button", name="登记楼栋").click()
    await expect(office.locator("#file-h")).to_contain_text("上沙村 12 栋")
    building_id = office.url.split("building=")[1]
    assert building_id

    # ---- the manager sees only their building and submits a self-check with a photo (zh) -------------------
    manager = await open_as(Role.BUILDING_MANAGER, "mgr-wang", "zh")
    await expect(manager.locator("#buildings li")).to_have_count(1)
    await expect(manager.locator("#file-h")).to_contain_text("上沙村 12 栋")  # the only one: opened at once
    selfcheck = manager.locator("form.selfcheck")
    await selfcheck.locator('[name="ans-ebike_charging"][value="hazard"]').check()
    await selfcheck.locator('[name="note-ebike_charging"]').fill("一楼楼道有 4 辆电动车在充电")
    await selfcheck.get_by_role("button", name="其余全部标为正常").click()
    selfcheck = manager.locator("form.selfcheck")
    await selfcheck.get_by_role("button", name="提交自查").click()
    await expect(selfcheck.locator(".form-error")).to_contain_text("请至少上传一张照片")
    await selfcheck.locator('input[type="file"]').set_input_files(
        {"name": "stairwell.png", "mimeType": "image/png", "buffer": png()})
    await expect(selfcheck.locator(".photos img")).to_have_count(1)
    await expect(selfcheck.locator(".photos img")).to_have_js_property("complete", True)
    await shot(manager, "manager-selfcheck-zh")
    await selfcheck.get_by_role("button", name="提交自查").click()
    card = manager.locator("article.insp-card").first
    await expect(card).to_have_attribute("data-state", "submitted")
    await expect(card).to_contain_text("待网格员审核")
    await expect(card.locator(".photos img")).to_have_count(1)

    # ---- the grid worker of G1 accepts it (en) ---------------------------------------------------------
    grid = await open_as(Role.GRID_WORKER, "grid-chen", "en", grids=("G1",))
    await expect(grid.locator("#buildings li")).to_have_count(1)
    await grid.locator("#worklist button").first.click()
    accept = grid.locator('form[data-action="accept"]')
    await accept.locator('[name="note"]').fill("Checked on site with the manager")
    await shot(grid, "grid-worker-en")
    await accept.get_by_role("button", name="Accept").click()
    await expect(grid.locator("article.insp-card").first).to_have_attribute("data-state", "grid_accepted")
    await expect(grid.locator('form[data-action="return"]')).to_have_count(0)  # nothing more for the grid

    # ---- a dispatcher's console is open; the fire office escalates (zh, then English) ---------------------
    console = await open_as(Role.DISPATCHER, "disp-1", "zh", path="/console")
    await expect(console.locator("#conn")).to_have_attribute("data-state", "open")
    await office.reload()
    await expect(office.locator('form[data-action="escalate"]')).to_be_visible()
    escalate = office.locator('form[data-action="escalate"]')
    await escalate.locator('[name="hazard"]').fill("电动自行车在楼道内集中充电，堵塞疏散通道")
    await escalate.locator('[name="severity"]').select_option("major")
    await escalate.get_by_role("button", name="移交消防监督").click()
    await expect(office.locator("article.insp-card").first).to_contain_text("已移交消防监督")
    await shot(office, "fire-office-zh")
    await office.get_by_role("button", name="Switch language to English").click()
    await expect(office.locator("article.insp-card").first).to_contain_text("with the fire police")

    # The escalated step passes its deadline: the console raises the alert, in the console's language.
    await expect(console.locator("#alert-banner")).to_be_visible(timeout=10_000)
    await expect(console.locator("#alert-text")).to_contain_text("等待消防监督")
    await expect(console.locator("#alert-text")).to_contain_text("上沙村 12 栋")
    # A language switch changes the banner's text as well (the alert carries both).
    await console.locator("#jy-lang").click()
    await expect(console.locator("#alert-text")).to_contain_text("has waited for the fire police")

    # ---- the fire police open an incident for dispatch and resolve the task (en) -------------------------
    police = await open_as(Role.FIRE_POLICE, "police-sun", "en", path=f"/inspections?building={building_id}")
    incident_form = police.locator('form[data-action="create_incident"]')
    await incident_form.locator('[name="note"]').fill("Station patrol to assist")
    await incident_form.get_by_role("button", name="Open an incident for dispatch").click()
    await expect(police.locator("#jy-toasts")).to_contain_text("Incident JY-")
    await expect(police.locator("article.insp-card").first).to_contain_text("incident:")
    resolve = police.locator('form[data-action="resolve"]')
    await resolve.locator('[name="result"]').fill("Chargers moved outdoors; re-inspected, compliant")
    await resolve.locator('[name="measure"][value="rectification_order"]').check()
    await resolve.get_by_role("button", name="Resolve").click()
    card = police.locator("article.insp-card").first
    await expect(card).to_have_attribute("data-state", "closed")
    await expect(card.locator(".timeline li")).to_have_count(5)  # submit, accept, escalate, link, resolve
    # The notices would cover the file in the screenshot.
    await police.evaluate("document.querySelectorAll('#jy-toasts .toast').forEach((el) => el.remove())")
    await shot(police, "building-file-en")
    # At phone width the page is one column, nothing to scroll sideways.
    await police.set_viewport_size(PHONE)
    await police.wait_for_timeout(200)
    assert await police.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    await shot(police, "building-file-phone")
    page_watch.check()
