"""The console's live call card (issue 12, item 5) in real Chromium: a Python client streams a real
clip to /ws/transcribe as a call (tiny.en), the card shows the caller, the transcript, the facts and
the score as the caller speaks, with the open incident it may duplicate; one click creates the
incident, which then shows in the queue and the detail; when the call ends its audio can be played."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from tests.conftest import token_for
from tests.fixtures_browser import DESKTOP, server_url
from tests.fixtures_dispatch import DispatchApi
from tests.fixtures_voice import load_wav
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.redis, pytest.mark.slow]

FIRE = "audio/synthetic/en_radio_04.wav"  # Caller reports a house fire at number forty two Jianshe Street. …
COLLAPSE = "audio/synthetic/en_radio_06.wav"  # Emergency, my father collapsed and he is not breathing. …


async def _stream_call(client: Any, wav: Path, ended: asyncio.Event, caller: dict[str, Any] | None = None) -> None:
    """A telephony gateway: the caller's audio at real-time pace, then the line stays open until told."""
    ws = await client.ws_connect(f"/ws/transcribe?token={token_for(client.server.app, Role.SERVICE)}")
    await ws.send_json({"type": "config", "kind": "call", "language": "en",
                        **({"caller": caller} if caller else {})})
    assert (await ws.receive_json(timeout=10))["type"] == "ready"
    samples, rate = load_wav(wav)
    data = samples.tobytes() + b"\0\0" * rate  # then a second of silence: the caller waits
    step = rate * 2 // 10
    for off in range(0, len(data), step):
        await ws.send_bytes(data[off:off + step])
        await asyncio.sleep(0.1)
    await ended.wait()
    await ws.send_json({"type": "end"})
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.TEXT and msg.json()["type"] == "closed":
            break
    await ws.close()


async def test_live_call_card_becomes_an_incident(make_client: Any, asr_engine: Any, shared_dir: Path, browser: Any,
                                                  page_watch: Any, shot: Any) -> None:
    client = await make_client(asr_engine=asr_engine)
    api = DispatchApi(client)
    earlier = await api.call("POST", "/api/incidents", 201, json={
        "text": "House fire on Jianshe Street, smoke from a window, people may be inside", "source": "phone"})
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    page = page_watch.attach(await context.new_page(), "console")
    token = token_for(client.server.app, Role.DISPATCHER)
    await page.goto(server_url(client, f"/console?lang=en&token={token}"))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    await expect(page.locator("#calls-panel")).to_be_hidden()

    hang_up = asyncio.Event()
    caller = asyncio.ensure_future(_stream_call(client, shared_dir / FIRE, hang_up,
                                                {"number": "+86 138 0013 8000", "location": "42 Jianshe Street"}))
    try:
        card = page.locator("#calls li.call-card")
        await expect(card).to_have_count(1, timeout=10_000)
        await expect(card).to_have_attribute("data-state", "live")
        await expect(card.locator(".call-number")).to_have_text("+86 138 0013 8000")
        await expect(card).to_contain_text("42 Jianshe Street")
        # The transcript, the facts and the score arrive while the caller is still on the line.
        await expect(card.locator(".call-transcript li.final").first).to_contain_text(re.compile("fire", re.I),
                                                                                     timeout=60_000)
        # A keyboard user on "Create incident" keeps the focus while the card updates under it.
        create = card.get_by_role("button", name="Create incident")
        await create.focus()
        await expect(card.locator(".badge.lvl-P1")).to_contain_text(re.compile(r"P1 · \d+"))
        await expect(card.locator(".call-cat")).to_have_text("fire")
        await expect(card.locator(".call-reasons")).to_contain_text("fire_people_trapped")
        # The open incident about the same fire is suggested, with the evidence.
        await expect(card.locator(f'.call-dups li[data-dup="{earlier["id"]}"]')).to_contain_text(earlier["number"],
                                                                                                timeout=10_000)
        await expect(card).to_have_attribute("data-state", "live")
        await shot(page, "1-live-call")

        # One key press (or click): a new incident from the call, shown in the queue and opened in the detail.
        await expect(create).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(card).to_have_attribute("data-state", "incident")
        await expect(card.locator(".call-decided")).to_contain_text(re.compile(r"Incident JY-\d{8}-\d+ created"))
        calls = (await api.call("GET", "/api/calls"))["calls"]
        incident = await api.call("GET", f"/api/incidents/{calls[0]['incident_id']}")
        assert incident["source"] == "call" and incident["text"] == calls[0]["transcript"]
        assert incident["transcripts"] == [f["transcript_id"] for f in calls[0]["finals"]]
        queued = page.locator(f'#queue li[data-id="{incident["id"]}"]')
        await expect(queued).to_contain_text(incident["number"])
        await expect(queued).to_have_attribute("data-level", "P1")
        await expect(page.locator("#detail-number")).to_have_text(incident["number"])
        await expect(page.locator("#detail")).to_contain_text(re.compile("fire", re.I))
    finally:
        hang_up.set()
        await caller
    # The caller hangs up: the card stays with its incident, and the call audio can be played, from the
    # card and from the incident's detail.
    await expect(card.locator(".call-state")).to_have_text("incident created")
    await expect(card.get_by_role("button", name="▶ Play the call audio")).to_be_visible(timeout=20_000)
    detail_call = page.locator(f'#detail .incident-calls li[data-call="{calls[0]["id"]}"]')
    await expect(detail_call).to_contain_text("+86 138 0013 8000", timeout=20_000)
    await expect(detail_call.get_by_role("button", name="▶ Play the call audio")).to_be_visible(timeout=20_000)
    await shot(page, "2-incident")

    # A second caller, about another open incident, on the console in Chinese: the card shows the
    # extracted injury, suggests that incident, and one click attaches the call to it.
    collapse = await api.call("POST", "/api/incidents", 201, json={
        "text": "An old man collapsed at Lianhua Road and is not breathing", "source": "phone"})
    await page.locator("#jy-lang").click()
    await expect(page.locator("#calls-h")).to_contain_text("来电")
    hang_up = asyncio.Event()
    caller = asyncio.ensure_future(_stream_call(client, shared_dir / COLLAPSE, hang_up))
    try:
        live = page.locator('#calls li.call-card[data-state="live"]')
        await expect(live).to_have_count(1, timeout=10_000)
        second = page.locator(f'#calls li.call-card[data-call="{await live.get_attribute("data-call")}"]')
        await expect(second.locator(".call-number")).to_have_text("未知号码")
        await expect(second.locator(".call-transcript li.final").first).to_contain_text("breathing", timeout=60_000)
        await expect(second.locator(".call-facts")).to_contain_text(re.compile("伤情\\s*重伤"))
        await expect(second.locator(".call-cat")).to_have_text("医疗急救")
        suggestion = second.locator(f'.call-dups li[data-dup="{collapse["id"]}"]')
        await expect(suggestion).to_contain_text(collapse["number"], timeout=10_000)
        await shot(page, "3-second-call-zh")
        await suggestion.get_by_role("button", name=f"并入 {collapse['number']}").click()
        await expect(second).to_have_attribute("data-state", "attached")
        await expect(page.locator("#detail-number")).to_have_text(collapse["number"])
        await expect(page.locator("#detail .text")).to_contain_text("breathing")
        await expect(page.locator("#detail .incident-calls")).to_contain_text("未知号码")
        assert (await api.call("GET", f"/api/incidents/{collapse['id']}"))["texts"][-1]["source"] == "call"
    finally:
        hang_up.set()
        await caller
    await shot(page, "4-attached-zh")
    page_watch.check()
    await context.close()
