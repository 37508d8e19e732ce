"""The page routes without a browser: each page and asset is served without a token, never cached
stale, and the pages' config carries nothing secret."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytestmark = [pytest.mark.redis]

PAGES = ("/", "/console", "/unit", "/interview", "/kiosk", "/brief", "/cases", "/inspections")
ASSETS = ("common.js", "common.css", "console-calls.js", "unit.js", "interview.js", "interview-record.js",
          "pcm-worklet.js", "kiosk.js", "brief.js", "cases.js", "cases.css", "inspections.js", "inspections.css")
# The console's ES modules (web/static/console/), loaded by URL from one another.
CONSOLE_MODULES = ("main.js", "i18n.js", "levels.js", "state.js", "render.js", "queue.js", "detail.js", "units.js",
                   "map.js", "radio.js", "kiosk.js", "alerts.js", "health.js", "sync.js", "events.js")
# Browsers refuse a module script served with any other type (no sniffing, unlike classic scripts).
JS_TYPES = ("text/javascript", "application/javascript")


async def test_pages_and_assets_are_public(client: Any) -> None:
    for path in PAGES:
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.content_type == "text/html"
        assert resp.headers["Cache-Control"] == "no-cache"
        body = await resp.text()
        assert "<script" in body or path == "/"
    for name in ASSETS:
        resp = await client.get(f"/static/{name}")
        assert resp.status == 200, name
    for name in CONSOLE_MODULES:
        resp = await client.get(f"/static/console/{name}")
        assert resp.status == 200, name
        assert resp.content_type in JS_TYPES, (name, resp.content_type)
    # The APIs behind the pages still need a token.
    assert (await client.get("/api/snapshot")).status == 401


async def test_page_config_is_written_into_the_pages(make_client: Any) -> None:
    client = await make_client()
    body = await (await client.get("/console")).text()
    assert '<script id="jy-config" type="application/json">{"map_tile_url": "", "map_attribution": ""}' in body
    client = await make_client(env={"JINGYUN_MAP_TILE_URL": "https://tiles.example/{z}/{x}/{y}.png",
                                    "JINGYUN_MAP_ATTRIBUTION": "</script><b>© Example tiles"})
    body = await (await client.get("/console")).text()
    match = re.search(r'<script id="jy-config" type="application/json">(.*?)</script>', body)
    assert match is not None
    # A "</script>" in a value cannot break out of the element.
    assert json.loads(match.group(1)) == {"map_tile_url": "https://tiles.example/{z}/{x}/{y}.png",
                                          "map_attribution": "</script><b>© Example tiles"}
