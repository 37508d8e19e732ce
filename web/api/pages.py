"""Static pages (console, unit, interview, kiosk, brief): served without a token; their APIs need one.

The pages carry no data. Each asks for a token (pasted, or ``?token=`` once, then kept in the tab's
sessionStorage) and calls the protected APIs with it. ``/ui-config.json`` tells the pages the few
deployment choices they need (the map tile URL); it holds nothing secret.
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

from web import appkeys
from web.auth import public

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


def _setting(request: web.Request, name: str, env: str) -> str:
    """A page setting: from ``Settings`` once the foundation declares it there, else from the environment.

    ``map_tile_url`` (``JINGYUN_MAP_TILE_URL``): an XYZ tile URL template such as
    ``https://tiles.example/{z}/{x}/{y}.png``; empty means the plain coordinate view (works offline).
    ``map_attribution`` (``JINGYUN_MAP_ATTRIBUTION``): the credit line the tile provider requires.
    """
    value = getattr(request.app[appkeys.SETTINGS], name, None)
    if value is None:
        value = os.environ.get(env, "")
    return str(value or "")


@public
async def ui_config(request: web.Request) -> web.Response:
    """Deployment choices the pages need; nothing secret, so no token."""
    return web.json_response({"map_tile_url": _setting(request, "map_tile_url", "JINGYUN_MAP_TILE_URL"),
                              "map_attribution": _setting(request, "map_attribution", "JINGYUN_MAP_ATTRIBUTION")},
                             headers=NO_CACHE)


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/console", console_page)
    app.router.add_get("/unit", unit_page)
    app.router.add_get("/interview", interview_page)
    app.router.add_get("/kiosk", kiosk_page)
    app.router.add_get("/brief", brief_page)
    app.router.add_get("/ui-config.json", ui_config)
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=False)
