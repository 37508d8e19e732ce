"""Static pages (console, unit, interview, kiosk, brief): served without a token; their APIs need one.

The pages carry no data. Each asks for a token (pasted, or ``?token=`` once, then kept in the tab's
sessionStorage) and calls the protected APIs with it. ``/ui-config.json`` tells the pages the few
deployment choices they need (the map tile URL); it holds nothing secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from web import appkeys
from web.auth import public
from web.envparse import load_settings, setting

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

PAGES = ("console", "unit", "interview", "kiosk", "brief")

# Pages must always be re-fetched: a stale console after a deployment is worse than a request.
NO_CACHE = {"Cache-Control": "no-cache"}


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / f"{name}.html", headers=NO_CACHE)


@public
async def index(request: web.Request) -> web.FileResponse:
    return _page("index")


@public
async def console_page(request: web.Request) -> web.FileResponse:
    return _page("console")


@public
async def unit_page(request: web.Request) -> web.FileResponse:
    return _page("unit")


@public
async def interview_page(request: web.Request) -> web.FileResponse:
    return _page("interview")


@public
async def kiosk_page(request: web.Request) -> web.FileResponse:
    return _page("kiosk")


@public
async def brief_page(request: web.Request) -> web.FileResponse:
    return _page("brief")


@dataclass(frozen=True)
class PageSettings:
    """What the pages need from the deployment (read through ``web.envparse`` like every setting)."""

    map_tile_url: str = setting("", "JINGYUN_MAP_TILE_URL",
                                "XYZ map tile URL template for the console map, e.g. "
                                "https://tiles.example/{z}/{x}/{y}.png; empty: plain coordinate view (offline)")
    map_attribution: str = setting("", "JINGYUN_MAP_ATTRIBUTION",
                                   "credit line the tile provider requires, shown on the map")


PAGE_SETTINGS: web.AppKey[PageSettings] = web.AppKey("page_settings", PageSettings)


@public
async def ui_config(request: web.Request) -> web.Response:
    """Deployment choices the pages need; nothing secret, so no token."""
    ps = request.app[PAGE_SETTINGS]
    return web.json_response({"map_tile_url": ps.map_tile_url, "map_attribution": ps.map_attribution},
                             headers=NO_CACHE)


def setup(app: web.Application) -> None:
    # A Settings section of its own would be the tidier home; until the foundation composes one,
    # the pages read theirs here, once, through envparse (a bad value stops start-up with its name).
    settings = app[appkeys.SETTINGS]
    app[PAGE_SETTINGS] = getattr(settings, "pages", None) or load_settings(PageSettings, os.environ)
    app.router.add_get("/", index)
    app.router.add_get("/console", console_page)
    app.router.add_get("/unit", unit_page)
    app.router.add_get("/interview", interview_page)
    app.router.add_get("/kiosk", kiosk_page)
    app.router.add_get("/brief", brief_page)
    app.router.add_get("/ui-config.json", ui_config)
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=False)
