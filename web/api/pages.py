"""Static pages (console, unit, interview, kiosk, brief): served without a token; their APIs need one.

The pages carry no data. Each asks for a token (pasted, or ``?token=`` once, then kept in the tab's
sessionStorage) and calls the protected APIs with it. The few deployment choices the pages need (the
map tile URL) are written into each page as ``<script id="jy-config" type="application/json">``;
nothing secret.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from web import appkeys
from web.auth import public
from web.page_settings import PageSettings

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

PAGES = ("console", "unit", "interview", "kiosk", "brief", "cases", "inspections")

# Pages must always be re-fetched: a stale console after a deployment is worse than a request.
NO_CACHE = {"Cache-Control": "no-cache"}


CONFIG_MARK = "<!--jy-config-->"


def render_pages(ps: PageSettings) -> dict[str, str]:
    """Every page's HTML with the deployment config in place of its ``<!--jy-config-->`` mark.

    Done once at start-up, so a request never reads a file on the event loop.
    """
    config = json.dumps({"map_tile_url": ps.map_tile_url, "map_attribution": ps.map_attribution})
    # "</" cannot end the script element early: JSON allows "<\/".
    config = config.replace("</", "<\\/")
    tag = f'<script id="jy-config" type="application/json">{config}</script>'
    return {name: (STATIC_DIR / f"{name}.html").read_text(encoding="utf-8").replace(CONFIG_MARK, tag, 1)
            for name in ("index", *PAGES)}


def _page(request: web.Request, name: str) -> web.Response:
    return web.Response(text=request.app[appkeys.PAGE_HTML][name], content_type="text/html", charset="utf-8",
                         headers=NO_CACHE)


@public
async def page(request: web.Request) -> web.Response:
    """Every page: its name is its path (``/`` is the index)."""
    return _page(request, request.path.strip("/") or "index")


def setup(app: web.Application) -> None:
    app[appkeys.PAGE_SETTINGS] = app[appkeys.SETTINGS].pages
    app[appkeys.PAGE_HTML] = render_pages(app[appkeys.PAGE_SETTINGS])
    app.router.add_get("/", page)
    for name in PAGES:
        app.router.add_get(f"/{name}", page)
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=False)
