"""The interview page streams Chromium's fake microphone (a real WAV) through the AudioWorklet and
/ws/transcribe to the real tiny.en model, shows the transcript with speaker roles, keeps an edit with
who and when, signs the record on the interview-record API, verifies and downloads it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import token_for
from tests.fixtures_browser import DESKTOP, PHONE, server_url
from web.auth import Role

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.redis, pytest.mark.slow]


async def test_interview_streams_microphone_and_signs_record(make_client: Any, asr_engine: Any, shared_dir: Path,
                                                             fake_mic_browser: Any, page_watch: Any, shot: Any,
                                                             artifacts: Path) -> None:
    client = await make_client(asr_engine=asr_engine)
    browser = await fake_mic_browser(shared_dir / "audio" / "real" / "en_jfk.wav")
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", accept_downloads=True)
    page = page_watch.attach(await context.new_page(), "interview")
    token = token_for(client.server.app, Role.INTERVIEWER)
    await page.goto(server_url(client, f"/interview?lang=en&token={token}"))

    # Inline validation: no case number, no interviewee name.
    await page.get_by_role("button", name="Start interview").click()
    await expect(page.locator("#case-err")).to_have_text("Enter the case number.")
    await page.fill("#case", "FT-2026-0042")
    await page.get_by_role("button", name="Start interview").click()
    await expect(page.locator("#people-err")).to_contain_text("needs a name")
    await page.fill("#pname-1", "Zhang San")
    await page.get_by_role("button", name="Start interview").click()

    await expect(page.locator("#case-label")).to_have_text("FT-2026-0042")
    await expect(page.locator('#speakers [aria-checked="true"]')).to_contain_text("Interviewee")
    await page.get_by_role("button", name="Start recording").click()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    await expect(page.locator("#rec-state")).to_have_text("recording")

    # JFK: "... ask not what your country can do for you ..." arrives as final lines, role on each.
    await expect(page.locator("#transcript")).to_contain_text(re.compile("country", re.I), timeout=60_000)
    first = page.locator("#transcript li[data-line]").first
    await expect(first).to_have_attribute("data-role", "interviewee")
    await expect(first.locator(".role")).to_contain_text("Interviewee Zhang San")
    # Switch the speaker with the keyboard; later lines carry the officer's role.
    await page.locator("body").press("1")
    await expect(page.locator('#speakers [aria-checked="true"]')).to_contain_text("Officer")
    await shot(page, "1-recording")
    await page.get_by_role("button", name="Stop recording").click()
    await expect(page.locator("#rec-state")).to_have_text("not recording", timeout=30_000)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "idle")
    # The audio itself is kept with the record, and covered by the signature below.
    await expect(page.locator("#audio-state")).to_contain_text("Audio kept with the record", timeout=20_000)

    # Correct a line: the edit is kept with who and when.
    await first.locator("button[data-edit]").click()
    await page.locator("#transcript textarea").fill("And so, my fellow Americans, ask not what your country can do.")
    await page.get_by_role("button", name="Save").click()
    await expect(first).to_contain_text("my fellow Americans, ask not")
    await expect(first.locator(".edited summary")).to_contain_text("edited 1×, last by interviewer")

    # Finish and sign: the record locks and shows its hash.
    await page.get_by_role("button", name="Finish and sign").click()
    await expect(page.locator("#sign-err")).to_contain_text("tick the confirmation")
    await page.check("#sign-confirm")
    await page.get_by_role("button", name="Finish and sign").click()
    await expect(page.locator("#signed")).to_contain_text(re.compile(r"SHA-256: [0-9a-f]{64}"))
    await expect(page.locator("#transcript button[data-edit]")).to_have_count(0)
    await expect(page.locator("#rec")).to_be_disabled()

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download record (.txt)").click()
    download = await info.value
    path = artifacts / "interview-record.txt"
    await download.save_as(str(path))
    text = path.read_text(encoding="utf-8")
    # The server's export: the case, each line with its speaker, the correction marked, the hash.
    assert "FT-2026-0042" in text
    assert re.search(r"Interviewee 被询问人 \(Zhang San\): And so, my fellow Americans.*\[corrected", text)
    shown_hash = re.search(r"SHA-256: ([0-9a-f]{64})", await page.locator("#signed").inner_text())
    assert shown_hash and f"Record SHA-256: {shown_hash.group(1)}" in text

    # The record is on the server: its API agrees, line by line, and verifies.
    headers = {"Authorization": f"Bearer {token}"}
    listed = await (await client.get("/api/interviews?case_number=FT-2026-0042", headers=headers)).json()
    (session,) = listed["interviews"]
    record = await (await client.get(f"/api/interviews/{session['id']}", headers=headers)).json()
    assert record["state"] == "signed"
    assert record["lines"][0]["speaker_role"] == "interviewee" and record["lines"][0]["source"] == "asr"
    assert record["lines"][0]["version"] == 2
    assert len(record["signature"]["audio"]) == 1
    await page.get_by_role("button", name="Verify record").click()
    await expect(page.locator("#verify-result")).to_contain_text("Verified")
    await shot(page, "2-signed")
    await page.set_viewport_size(PHONE)
    await shot(page, "3-signed-phone")
    page_watch.check()
    await browser.close()


async def test_console_shows_live_radio_transcript(make_client: Any, asr_engine: Any, shared_dir: Path,
                                                   browser: Any, page_watch: Any, shot: Any) -> None:
    import asyncio
    import wave

    from tests.browser.test_console_unit import open_console

    client = await make_client(asr_engine=asr_engine)
    console = await open_console(browser, client, page_watch)
    with wave.open(str(shared_dir / "audio" / "real" / "en_jfk.wav"), "rb") as w:
        pcm = w.readframes(w.getnframes())
    token = token_for(client.server.app, Role.SERVICE)
    ws = await client.ws_connect(f"/ws/transcribe?token={token}")
    await ws.send_json({"type": "config", "sample_rate": 16000, "encoding": "pcm_s16le", "language": "en",
                        "source": "radio", "channel": "TG-101"})
    ready = await ws.receive_json(timeout=10)
    assert ready["type"] == "ready", ready
    chunk = 3200  # 100 ms
    for i in range(0, len(pcm), chunk):
        await ws.send_bytes(pcm[i:i + chunk])
        await asyncio.sleep(0.02)
    await ws.send_json({"type": "end"})
    channel = console.locator('#channels .channel[data-channel="TG-101"]')
    await expect(channel.locator("li.final").first).to_contain_text(re.compile("country", re.I), timeout=60_000)
    await expect(channel.locator("h3")).to_contain_text("TG-101")
    await shot(console, "radio")
    await ws.close()
    page_watch.check()


async def test_console_radio_status_undo_and_suggestion_accept(make_client: Any, asr_engine: Any, shared_dir: Path,
                                                               dispatch_api: Any, browser: Any, page_watch: Any,
                                                               shot: Any) -> None:
    """Radio through the gateway: the console shows each transmission with its unit, a spoken status
    change "from radio" with Undo, and a suggested incident that the dispatcher accepts."""
    from tests.browser.test_console_unit import open_console
    from tests.fixtures_radio import Gateway, headers, read_wav

    client = await make_client(asr_engine=asr_engine)
    api = dispatch_api(client)
    unit = await api.unit("Unit 7")
    resp = await client.post("/api/radio/channels", json={"id": "patrol-1", "name": "Patrol 1", "language": "en",
                                                          "priority": 5},
                             headers=headers(client.server.app, Role.DISPATCHER))
    assert resp.status == 201, await resp.text()
    console = await open_console(browser, client, page_watch)

    gw = await Gateway.open(client, "patrol-1", 16000, mode="ptt")
    on_scene, _ = read_wav(shared_dir / "audio/synthetic/en_radio_02.wav")  # "... unit seven. We are on scene ..."
    fire, _ = read_wav(shared_dir / "audio/synthetic/en_radio_04.wav")  # "... a house fire at number forty two ..."
    await gw.transmit("Unit 7", on_scene)
    await gw.transmit(None, fire)
    await gw.next("transmission")
    await gw.next("transmission")
    await gw.end()

    channel = console.locator('#channels .channel[data-channel="patrol-1"]')
    await expect(channel.locator("li.final")).to_have_count(2, timeout=30_000)
    await expect(channel.locator("li.final").first).to_contain_text("Unit 7")
    await expect(channel.locator("li.final").first).to_contain_text(re.compile("on scene", re.I))

    status = console.locator("#radio-status li").first
    await expect(status).to_contain_text("Unit 7")
    await expect(status).to_contain_text("on scene")
    await expect(status).to_contain_text("from radio")
    await expect(console.locator(f'#units tr[data-unit="{unit["id"]}"]')).to_have_attribute("data-status", "on_scene")

    suggestion = console.locator("#suggestions li.suggestion").first
    await expect(suggestion).to_contain_text(re.compile("fire", re.I))
    await shot(console, "radio-status-suggestion")

    await status.get_by_role("button", name="Undo").click()
    await expect(status).to_have_attribute("data-state", "undone")
    await expect(console.locator(f'#units tr[data-unit="{unit["id"]}"]')).to_have_attribute("data-status", "available")

    await suggestion.get_by_role("button", name="Create incident").click()
    await expect(console.locator("#suggestions li.suggestion")).to_have_count(0)
    await expect(console.locator("#queue li[data-id]")).to_have_count(1)
    await expect(console.locator("#detail")).to_contain_text(re.compile("fire", re.I))
    page_watch.check()
