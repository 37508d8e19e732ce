"""Static pages (console, unit, interview, kiosk, brief): served without a token; their APIs need one."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from web.auth import public

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


@public
async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=False)
