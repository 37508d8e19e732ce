"""The OpenAPI document at ``/api/openapi.json``, merged from one YAML file per sub-system.

Each ``web/api/specs/<subsystem>.yaml`` holds ``paths`` and ``components`` for its routes; this
module merges them over the base document below. To document a new route, add its entry to your
sub-system's file (or create one); nothing here changes. Two files defining the same path and
method, or the same component name, is an error at start-up rather than a silent overwrite.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from web import appkeys
from web.auth import Role, requires

SPECS_DIR = Path(__file__).with_name("specs")

BASE: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Jingyun (警云) API", "version": "0.1.0",
             "description": "Dispatch and voice-intelligence server. Errors are "
                            "`{\"error\": {\"code\", \"message\", \"details\"?}}`. Identifiers are strings; "
                            "times are ISO 8601 UTC."},
    "security": [{"bearer": []}],
    "paths": {},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "details": {"type": "object"}}}}},
        },
        "responses": {
            "Error": {"description": "error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    },
}


def merge(base: dict[str, Any], fragment: dict[str, Any], source: str) -> None:
    """Merge one sub-system's fragment into ``base``, refusing duplicate definitions."""
    for path, methods in (fragment.get("paths") or {}).items():
        target = base["paths"].setdefault(path, {})
        for method, op in methods.items():
            if method in target:
                raise ValueError(f"{source}: {method.upper()} {path} is already documented by another spec file")
            target[method] = op
    for section, items in (fragment.get("components") or {}).items():
        target = base["components"].setdefault(section, {})
        for name, value in items.items():
            if name in target and target[name] != value:
                raise ValueError(f"{source}: component {section}/{name} is already defined differently")
            target[name] = value


def build_document(specs_dir: Path = SPECS_DIR) -> dict[str, Any]:
    """The whole document: the base plus every ``*.yaml`` in ``specs_dir`` in name order."""
    doc = copy.deepcopy(BASE)
    for path in sorted(specs_dir.glob("*.yaml")):
        fragment = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(fragment, dict):
            raise ValueError(f"{path}: an OpenAPI fragment must be a mapping with paths and components")
        merge(doc, fragment, path.name)
    return doc


@requires(*Role)
async def openapi_json(request: web.Request) -> web.Response:
    """The API description, for any signed-in client: the route map is not published to strangers."""
    return web.json_response(request.app[appkeys.OPENAPI])


def setup(app: web.Application) -> None:
    """Load the document once and serve it; registered at most once per app."""
    if appkeys.OPENAPI in app:
        return
    app[appkeys.OPENAPI] = build_document()
    app.router.add_get("/api/openapi.json", openapi_json)
