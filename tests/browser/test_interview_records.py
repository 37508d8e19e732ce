"""The interview page without the microphone: typed lines, corrections, sign-off and export, on the
interview-record API, and in the browser when that API is not there (a server without it answers 404)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import token_for
from tests.fixtures_browser import DESKTOP, server_url
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.redis]


async def start_interview(page: Any, case: str) -> None:
    await page.fill("#case", case)
    await page.fill("#pname-1", "Li Si")
    await page.get_by_role("button", name="Start interview").click()
    await expect(page.locator("#case-label")).to_have_text(case)


async def type_edit_sign(page: Any) -> None:
    await page.fill("#typed", "I was at the station at nine.")
    await page.keyboard.press("Enter")
    await page.locator('#speakers [data-i="0"]').click()  # the officer speaks next
    await page.fill("#typed", "Who was with you?")
    await page.get_by_role("button", name="Add line").click()
    lines = page.locator("#transcript li[data-line]")
    await expect(lines).to_have_count(2)
    await expect(lines.nth(0)).to_have_attribute("data-role", "interviewee")
    await expect(lines.nth(1)).to_have_attribute("data-role", "interviewer")
    await lines.nth(0).locator("button[data-edit]").click()
    await page.locator("#transcript textarea").fill("I was at the station at about nine.")
    await page.locator("#transcript textarea").press("Control+Enter")
    await expect(lines.nth(0)).to_contain_text("at about nine")
    await expect(lines.nth(0).locator(".edited summary")).to_contain_text("edited 1×")
    await page.check("#sign-confirm")
    await page.get_by_role("button", name="Finish and sign").click()
    await expect(page.locator("#signed")).to_contain_text(re.compile(r"SHA-256: [0-9a-f]{64}"))
    await expect(page.locator("#typed-form")).to_be_hidden()


async def test_typed_record_on_the_server(make_client: Any, browser: Any, page_watch: Any, artifacts: Path) -> None:
    client = await make_client()
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", accept_downloads=True)
    page = page_watch.attach(await context.new_page(), "interview")
    token = token_for(client.server.app, Role.INTERVIEWER)
    await page.goto(server_url(client, f"/interview?lang=en&token={token}"))
    await expect(page.locator("#setup-store-note")).to_contain_text("kept on the server")
    await start_interview(page, "FT-2026-0100")
    await type_edit_sign(page)
    await page.get_by_role("button", name="Verify record").click()
    await expect(page.locator("#verify-result")).to_contain_text("Verified")
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download record (.docx)").click()
    docx = artifacts / "interview-typed.docx"
    await (await info.value).save_as(str(docx))
    assert docx.read_bytes()[:2] == b"PK"  # a real Office document
    # The server has both lines, the first at version 2, and refuses changes now.
    headers = {"Authorization": f"Bearer {token}"}
    (session,) = (await (await client.get("/api/interviews?case_number=FT-2026-0100", headers=headers)).json())[
        "interviews"]
    record = await (await client.get(f"/api/interviews/{session['id']}", headers=headers)).json()
    assert [(ln["speaker_role"], ln["source"], ln["version"]) for ln in record["lines"]] == [
        ("interviewee", "typed", 2), ("interviewer", "typed", 1)]
    page_watch.check()


async def test_record_kept_in_browser_without_the_api(make_client: Any, browser: Any, page_watch: Any,
                                                      artifacts: Path) -> None:
    client = await make_client()
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", accept_downloads=True)
    # A server without the interview-record API answers 404 there.
    await context.route(re.compile(r".*/api/interviews.*"), lambda route: route.fulfill(
        status=404, content_type="application/json",
        body=json.dumps({"error": {"code": "not_found", "message": "no such resource"}})))
    page = page_watch.attach(await context.new_page(), "interview")
    page_watch.IGNORED = (*page_watch.IGNORED, "404")
    token = token_for(client.server.app, Role.INTERVIEWER)
    await page.goto(server_url(client, f"/interview?lang=en&token={token}"))
    await expect(page.locator("#setup-store-note")).to_contain_text("kept in this browser")
    await start_interview(page, "FT-2026-0101")
    await type_edit_sign(page)
    await expect(page.locator("#dl-docx")).to_be_hidden()
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download record (.txt)").click()
    path = artifacts / "interview-browser.txt"
    await (await info.value).save_as(str(path))
    text = path.read_text(encoding="utf-8")
    assert "Interviewee Li Si: I was at the station at about nine." in text
    assert 'before: "I was at the station at nine."' in text
    assert re.search(r"SHA-256: [0-9a-f]{64}", text)
    # Still there after a reload: listed on the start screen and reopened, signed and locked.
    await page.reload()
    await page.get_by_role("button", name="Open").first.click()
    await expect(page.locator("#transcript li[data-line]")).to_have_count(2)
    await expect(page.locator("#signed")).to_be_visible()
    page_watch.check()
