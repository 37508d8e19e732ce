"""A citizen fills a kiosk template (inline validation), submits and gets a receipt; the duty console
shows the draft while it is typed and the incident once it is submitted."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.test_console_unit import open_console
from tests.conftest import token_for
from tests.fixtures_browser import server_url
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.redis]


async def test_kiosk_report_appears_on_console(make_client: Any, browser: Any, page_watch: Any, shot: Any) -> None:
    client = await make_client()
    console = await open_console(browser, client, page_watch)

    context = await browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True, locale="en-US")
    kiosk = page_watch.attach(await context.new_page(), "kiosk")
    await kiosk.goto(server_url(client, f"/kiosk?lang=en&token={token_for(client.server.app, Role.KIOSK)}"))
    await kiosk.get_by_role("button", name="Pickpocketing").click()
    await expect(kiosk.locator("#form-h")).to_have_text("Pickpocketing")

    # Submitting the empty form marks each required field, says how many, and focuses the first.
    await kiosk.get_by_role("button", name="Submit report").click()
    await expect(kiosk.locator("#form-error")).to_contain_text("Please correct the 5 highlighted field(s)")
    await expect(kiosk.locator("#f-description")).to_have_attribute("aria-invalid", "true")
    await expect(kiosk.locator("#f-description")).to_be_focused()
    await expect(kiosk.locator("#f-description-err")).to_have_text("This field is required.")
    await shot(kiosk, "1-errors")

    await kiosk.fill("#f-description", "Someone took my phone from my bag on the metro, I noticed at the exit")
    # The duty console sees the draft while it is being typed.
    draft = console.locator("#drafts li.draft")
    await expect(draft).to_contain_text("Someone took my phone from my bag")
    await expect(draft).to_contain_text("Pickpocketing")
    await expect(draft).to_contain_text("typing")

    await kiosk.fill("#f-time", "today around 3 pm")
    await kiosk.fill("#f-place", "Futian metro station")
    await kiosk.fill("#f-item", "iPhone 13, black")
    await kiosk.fill("#f-phone", "12345")
    await kiosk.locator("#f-phone").blur()
    await expect(kiosk.locator("#f-phone-err")).to_contain_text("11-digit mobile number")
    await kiosk.fill("#f-phone", "13812345678")
    await kiosk.locator("#f-phone").blur()
    await expect(kiosk.locator("#f-phone-err")).to_have_text("")
    await kiosk.get_by_role("button", name="Submit report").click()

    receipt = kiosk.locator("#receipt-number")
    await expect(receipt).to_have_text(re.compile(r"^JY-\d{8}-\d{5}$"))
    number = (await receipt.text_content() or "").strip()
    assert number.startswith("JY-"), number
    await expect(kiosk.locator("#step-receipt")).to_be_focused()
    await shot(kiosk, "2-receipt")

    # On the console: the draft is marked submitted with the receipt, and the incident is in the queue.
    await expect(draft).to_contain_text(f"submitted, receipt {number}")
    item = console.locator("#queue li[data-id]", has_text=number)
    await expect(item).to_be_visible()
    await item.locator(".inc-btn").click()
    await expect(console.locator("#detail")).to_contain_text("kiosk")
    await expect(console.locator("#detail")).to_contain_text("Futian metro station")
    # The citizen's answers are there, labelled, with the number to call back.
    await expect(console.locator("#report-fields")).to_contain_text("Contact phone")
    await expect(console.locator("#report-fields")).to_contain_text("13812345678")
    await shot(console, "3-console")

    # "Start a new report" clears the form for the next citizen.
    await kiosk.get_by_role("button", name="Start a new report").click()
    await expect(kiosk.locator("#step-choose")).to_be_visible()
    await expect(kiosk.locator("#report input")).to_have_count(0)
    page_watch.check()
