"""HTTP routes of the intelligence sub-system: kiosk intake, triage preview, daily analysis, rule reload.

The scoring itself happens in :mod:`analytics` (pure); incidents are created through the dispatch
service so a kiosk report is stored, scored, audited and linked to duplicates like any other report.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from analytics import accountability as accountability_mod
from analytics import analysis
from analytics import brief as brief_mod
from analytics import keys as kiosk_keys
from analytics import rules as rules_mod
from analytics import templates as templates_mod
from analytics.triage import triage
from web import appkeys
from web.api.common import json_body
from web.auth import Role, principal, requires
from web.errors import RATE_LIMITED, UNAVAILABLE, ApiError, bad_request

log = logging.getLogger("jingyun.intel")

_DRAFT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SUBMISSION_TTL_S = 24 * 3600


@dataclass
class IntelState:
    """What the intel routes share: templates, analysis parameters, reload bookkeeping."""

    templates: dict[str, dict[str, Any]]
    params: analysis.AnalysisParams
    reloaded_at: float = field(default_factory=time.time)


def _state(request: web.Request) -> IntelState:
    state = request.app.get(appkeys.INTEL)
    if not isinstance(state, IntelState):
        raise ApiError(503, UNAVAILABLE, "the intelligence sub-system is still starting; retry in a moment")
    return state


def _rules(request: web.Request) -> rules_mod.RuleBook:
    return request.app[appkeys.RULES]


def _dispatch(request: web.Request) -> Any:
    service: Any = request.app.get(appkeys.DISPATCH)
    if service is None:
        raise ApiError(503, UNAVAILABLE, "the dispatch service is not running; kiosk reports cannot be stored now")
    return service


async def _rate_limit(request: web.Request, bucket: str, per_min: int) -> None:
    """Refuse with 429 when this client address made more than ``per_min`` requests this minute."""
    settings = request.app[appkeys.SETTINGS]
    now = time.time()
    minute = int(now // 60)
    key = kiosk_keys.kiosk_rate(settings.redis_prefix, bucket, request.remote or "unknown", minute)
    redis = request.app[appkeys.REDIS]
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
    except Exception:
        # The limiter protects the service; a Redis hiccup must not turn citizens away.
        log.warning("rate limiter unavailable; request allowed", exc_info=True)
        return
    if int(count) > per_min:
        retry = max(1, int(60 - now % 60))
        raise ApiError(429, RATE_LIMITED, f"too many kiosk requests from this address: at most {per_min} per "
                                          f"minute are accepted; retry in {retry} s", retry_after_s=retry)


async def _in_executor(request: web.Request, fn: Any, *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[appkeys.EXECUTOR], functools.partial(fn, *args, **kwargs))


# ---- kiosk ---------------------------------------------------------------------------------------
@requires(Role.KIOSK, Role.DISPATCHER, Role.ADMIN)
async def kiosk_templates(request: web.Request) -> web.Response:
    """The case templates: fields, required, validation rules, zh and en labels."""
    if principal(request).role is Role.KIOSK:
        await _rate_limit(request, "read", request.app[appkeys.SETTINGS].rate_limit_per_min)
    state = _state(request)
    return web.json_response({"templates": [templates_mod.public_view(t) for t in state.templates.values()]})


def _template(state: IntelState, data: dict[str, Any]) -> dict[str, Any]:
    tid = data.get("template_id", data.get("template"))
    if not isinstance(tid, str) or tid not in state.templates:
        raise bad_request(f"template_id must be one of {', '.join(state.templates)}, got {tid!r}",
                          field="template_id")
    return state.templates[tid]


def _draft_id(data: dict[str, Any]) -> str:
    draft_id = data.get("draft_id")
    if not isinstance(draft_id, str) or not _DRAFT_ID.match(draft_id):
        raise bad_request("draft_id must be 1-64 characters of letters, digits, '_', '-', '.' or ':'",
                          field="draft_id")
    return draft_id


@requires(Role.KIOSK)
async def kiosk_draft(request: web.Request) -> web.Response:
    """A draft being typed: shown live on the duty console, with a first triage of its text."""
    settings = request.app[appkeys.SETTINGS]
    await _rate_limit(request, "draft", settings.intel.kiosk_drafts_per_min)
    state = _state(request)
    data = await json_body(request)
    draft_id = _draft_id(data)
    template = _template(state, data)
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        raise bad_request("fields must be a JSON object of field name -> value", field="fields")
    declared = {f["name"] for f in template["fields"]}
    shown: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in declared:
            raise bad_request(f"{name} is not a field of template {template['id']}; accepted: "
                              f"{', '.join(sorted(declared))}", field=name)
        if not isinstance(value, str | bool) and value is not None:
            raise bad_request(f"{name} must be text or true/false", field=name)
        if isinstance(value, str) and len(value) > settings.intel.max_text_chars:
            raise bad_request(f"{name} is {len(value)} characters; at most {settings.intel.max_text_chars} "
                              "are accepted", field=name)
        shown[name] = value
    preview = None
    description = shown.get("description")
    if isinstance(description, str) and description.strip():
        scored = await _in_executor(request, triage, description, source="kiosk",
                                    fields={**{k: v for k, v in shown.items() if isinstance(v, str)},
                                            "template": template["id"]})
        preview = {"level": scored.level, "priority": scored.priority, "category": scored.category}
    who = principal(request)
    event = {"type": "kiosk_draft", "draft_id": draft_id, "template_id": template["id"], "fields": shown,
             "kiosk": who.subject, "preview": preview}
    await _dispatch(request).publish_console(event)
    return web.json_response({"draft_id": draft_id, "published": True, "preview": preview}, status=202)


@requires(Role.KIOSK)
async def kiosk_report(request: web.Request) -> web.Response:
    """Submit a report: validated against its template, stored as an incident, receipt returned at once."""
    settings = request.app[appkeys.SETTINGS]
    await _rate_limit(request, "report", settings.rate_limit_per_min)
    state = _state(request)
    data = await json_body(request)
    template = _template(state, data)
    draft_id = data.get("draft_id")
    if draft_id is not None:
        draft_id = _draft_id(data)
    cleaned, errors = templates_mod.validate(template, data.get("fields"), max_text_chars=settings.intel.max_text_chars)
    if errors:
        raise ApiError(400, "invalid_fields",
                       "the form has errors: " + "; ".join(e.message for e in errors),
                       errors=[e.to_dict() for e in errors])
    lang = data.get("lang")
    if lang is not None and lang not in ("zh", "en", "yue"):
        raise bad_request(f"lang must be zh, en or yue, got {lang!r}", field="lang")
    redis = request.app[appkeys.REDIS]
    skey = kiosk_keys.kiosk_submission(settings.redis_prefix, draft_id) if draft_id else None
    if skey:
        claimed = await redis.set(skey, b"pending", nx=True, ex=SUBMISSION_TTL_S)
        if not claimed:
            previous = await redis.get(skey)
            if previous and previous != b"pending":
                return web.json_response({**json.loads(previous), "repeated": True})
            raise ApiError(409, "conflict", "this report is being submitted already; wait for its receipt",
                           draft_id=draft_id)
    who = principal(request)
    place = cleaned.get("place")
    lat = lon = None
    if isinstance(place, str):
        loc = await _in_executor(request, _resolve_place, place, _rules(request).current)
        if loc:
            lat, lon = loc["lat"], loc["lon"]
    # The text scored is the citizen's description (kiosk form answers travel as fields).
    text = templates_mod.report_text(template, cleaned)
    # ``lang`` from the kiosk is the language of its screen, kept with the report; the scorer reads
    # the language from the text itself.
    report = {"template": template["id"], "fields": {**cleaned, "template": template["id"]},
              "draft_id": draft_id, "kiosk": who.subject, "ui_lang": lang}
    try:
        incident = await _dispatch(request).create_incident(
            text=text, source="kiosk", actor=who.subject, lang=None, location_text=place or None,
            lat=lat, lon=lon, report=report)
    except Exception as exc:
        if skey:
            await redis.delete(skey)
        message = getattr(exc, "message", None)
        if message:  # a dispatch validation error: tell the kiosk what to change
            raise bad_request(str(message), **getattr(exc, "details", {})) from None
        raise
    receipt = {"receipt": incident["number"], "incident_id": incident["id"],
               "received_at": incident["created_at"], "template_id": template["id"]}
    if skey:
        await redis.set(skey, json.dumps(receipt), ex=SUBMISSION_TTL_S)
    if draft_id:
        await _dispatch(request).publish_console({"type": "kiosk_draft", "draft_id": draft_id, "submitted": True,
                                                  "receipt": incident["number"], "incident_id": incident["id"],
                                                  "kiosk": who.subject})
    return web.json_response(receipt, status=201)


def _resolve_place(place: str, rules: rules_mod.RuleSet) -> dict[str, Any] | None:
    from analytics import extract, textnorm

    return extract.locate(textnorm.normalize(place), rules)


# ---- triage preview and rules --------------------------------------------------------------------
@requires(Role.DISPATCHER, Role.ADMIN, Role.SERVICE)
async def triage_preview(request: web.Request) -> web.Response:
    """Score a text without creating an incident (what-if for dispatchers, rule authors and gateways)."""
    data = await json_body(request)
    text = data.get("text")
    limit = request.app[appkeys.SETTINGS].intel.max_text_chars
    if not isinstance(text, str) or not text.strip():
        raise bad_request("text must be a non-empty string", field="text")
    if len(text) > limit:
        raise bad_request(f"text is {len(text)} characters; at most {limit} are accepted", field="text")
    lang = data.get("lang")
    if lang is not None and lang not in ("zh", "en", "yue"):
        raise bad_request(f"lang must be zh, en or yue, got {lang!r}", field="lang")
    fields = data.get("fields")
    if fields is not None and not isinstance(fields, dict):
        raise bad_request("fields must be a JSON object", field="fields")
    source = data.get("source", "call")
    if not isinstance(source, str):
        raise bad_request("source must be a string such as call, radio or kiosk", field="source")
    result = await _in_executor(request, triage, text, lang=lang, source=source, fields=fields,
                                rules=_rules(request).current)
    return web.json_response(result.to_dict())


def _rules_info(rs: rules_mod.RuleSet) -> dict[str, Any]:
    return {"version": rs.version, "source": rs.source, **rs.counts}


@requires(Role.ADMIN)
async def rules_info(request: web.Request) -> web.Response:
    """Which rule file is in force and how big it is."""
    return web.json_response(_rules_info(_rules(request).current))


@requires(Role.ADMIN)
async def rules_reload(request: web.Request) -> web.Response:
    """Re-read the rules and gazetteer files; a file that does not validate is refused, old rules kept."""
    try:
        rs = await _in_executor(request, _rules(request).reload)
    except rules_mod.RulesError as exc:
        raise ApiError(422, "invalid_rules", f"rules not reloaded, the previous rules stay in force: {exc}") from None
    state = _state(request)
    state.reloaded_at = time.time()
    log.info("triage rules reloaded from %s", rs.source)
    dispatch: Any = request.app.get(appkeys.DISPATCH)
    if dispatch is not None:
        await dispatch.audit(principal(request).subject, "intel.rules_reload", "rules", None, _rules_info(rs))
    return web.json_response({"reloaded": True, **_rules_info(rs)})


# ---- analysis ------------------------------------------------------------------------------------
def _parse_date(request: web.Request, tz: str) -> dt.date:
    raw = request.query.get("date")
    if raw is None or raw == "":
        return dt.datetime.now(ZoneInfo(tz)).date()
    if not _DATE.match(raw):
        raise bad_request(f"date must be YYYY-MM-DD (e.g. 2026-05-01), got {raw!r}", field="date")
    try:
        date = dt.date.fromisoformat(raw)
        analysis.day_bounds(date - dt.timedelta(days=_state(request).params.baseline_days), tz)
        analysis.day_bounds(date, tz)
    except (ValueError, OverflowError):  # not a calendar date, or too near either end of the calendar
        raise bad_request(f"date {raw!r} is not a calendar date the brief can cover; use YYYY-MM-DD",
                          field="date") from None
    return date


async def build_brief(app: web.Application, date: dt.date) -> dict[str, Any]:
    """Fetch the day plus its baseline window through the dispatch service and analyse it."""
    state = app[appkeys.INTEL]
    assert isinstance(state, IntelState)
    params = state.params
    service: Any = app.get(appkeys.DISPATCH)
    if service is None:
        raise ApiError(503, UNAVAILABLE, "the dispatch service is not running; no incidents to analyse")
    return await assemble_brief(service, date, params, app[appkeys.RULES].current, app[appkeys.EXECUTOR])


async def assemble_brief(service: Any, date: dt.date, params: Any, rules: Any, executor: Any = None) -> dict[str, Any]:
    """The day's brief from the dispatch service: the analysis (in ``executor``, off the event loop), the
    response intervals and the accountability section. Served by GET /api/analysis/brief and printed by
    `jingyun brief`."""
    start, end = analysis.day_bounds(date, params.tz)
    incidents = await service.incidents_between(start - dt.timedelta(days=params.baseline_days), end)
    brief: dict[str, Any] = await asyncio.get_running_loop().run_in_executor(
        executor, analysis.daily_brief, date, incidents, params, rules)
    try:
        brief["response"] = await service.response_intervals(start, end)
    except Exception:  # response intervals are a bonus; the brief stands without them
        log.warning("response intervals unavailable for %s", date, exc_info=True)
    brief["accountability"] = brief_accountability(await service.accountability(start, end),
                                                   service.outcome_codes())
    return brief


def brief_accountability(report: dict[str, Any], outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """The brief's accountability section: acceptance and override rates per level and per category (the
    table columns in zh and en), and the outcomes of accepted vs overridden suggestions, with the labels of
    the outcome codes that occur."""
    codes = {code for what in report["outcomes"].values() for by in what.values() for code in by}
    labels = {o["code"]: {"zh": o["zh"], "en": o["en"]} for o in outcomes if o["code"] in codes}
    return {"incidents": report["incidents"], "columns": {lang: [list(c) for c in cols]
                                                          for lang, cols in accountability_mod.BRIEF_COLUMNS.items()},
            "rows": accountability_mod.brief_rows(report),
            "by_category": accountability_mod.brief_category_rows(report),
            "outcomes": report["outcomes"], "outcome_labels": labels, "not_counted": report["not_counted"]}


@requires(Role.DISPATCHER, Role.ADMIN)
async def analysis_daily(request: web.Request) -> web.Response:
    """The daily analysis as JSON: counts, hotspots, spikes against the rolling baseline, repeat places."""
    date = _parse_date(request, _state(request).params.tz)
    return web.json_response(await build_brief(request.app, date))


def _period_bound(raw: str, name: str, tz: str, *, end: bool) -> dt.datetime:
    """``from``/``to``: a local day (``to`` includes it) or an ISO 8601 time with a zone."""
    accepted = (f"{name} must be a date YYYY-MM-DD (a whole day in {tz}; to= includes that day) or an ISO 8601 "
                f"time with a zone such as 2026-05-01T08:00:00+08:00, got {raw!r}")
    if _DATE.match(raw):
        try:
            start, stop = analysis.day_bounds(dt.date.fromisoformat(raw), tz)
        except (ValueError, OverflowError):  # not a calendar day, or 9999-12-31 with no day after it
            raise bad_request(accepted, field=name) from None
        return stop if end else start
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise ValueError("no zone")
        return when.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise bad_request(accepted, field=name) from None


@requires(Role.DISPATCHER, Role.ADMIN)
async def analysis_accountability(request: web.Request) -> web.Response:
    """How often dispatchers accept the machine's levels and unit recommendations, per level and category,
    and what came of accepted vs overridden suggestions, for incidents created in [from, to)."""
    settings = request.app[appkeys.SETTINGS]
    tz = _state(request).params.tz
    unknown = sorted(set(request.query) - {"from", "to"})
    if unknown:
        raise bad_request(f"unknown parameter(s) {', '.join(unknown)}; accepted: from, to", field=unknown[0])
    today = dt.datetime.now(ZoneInfo(tz)).date()
    end = _period_bound(request.query.get("to") or today.isoformat(), "to", tz, end=True)
    raw_from = request.query.get("from")
    start = (_period_bound(raw_from, "from", tz, end=False) if raw_from
             else analysis.day_bounds(today - dt.timedelta(days=6), tz)[0])
    if start >= end:
        raise bad_request(f"from ({start.isoformat()}) must be before to ({end.isoformat()})", field="from")
    most = settings.dispatch.accountability_max_days
    if end - start > dt.timedelta(days=most):
        raise bad_request(f"the period is {(end - start).days} days long; at most {most} days are accepted "
                          "(JINGYUN_ACCOUNTABILITY_MAX_DAYS)", field="from")
    report = await _dispatch(request).accountability(start, end)
    return web.json_response({"timezone": tz, **report})


@requires(Role.DISPATCHER, Role.ADMIN)
async def analysis_daily_html(request: web.Request) -> web.Response:
    """The same brief as a printable HTML page with inline SVG charts."""
    date = _parse_date(request, _state(request).params.tz)
    brief = await build_brief(request.app, date)
    return web.Response(text=brief_mod.render_html(brief), content_type="text/html", charset="utf-8")


def analysis_params(settings: Any) -> analysis.AnalysisParams:
    """Analysis parameters from the intel settings (the time zone is checked here)."""
    intel = settings.intel
    try:
        ZoneInfo(intel.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"bad setting JINGYUN_ANALYSIS_TZ={intel.timezone!r}: expected an IANA time zone "
                         "such as Asia/Shanghai") from None
    return analysis.AnalysisParams(tz=intel.timezone, baseline_days=intel.baseline_days, spike_z=intel.spike_z,
                                   hotspot_radius_m=intel.hotspot_radius_m,
                                   hotspot_min_points=intel.hotspot_min_points,
                                   repeat_location_min=intel.repeat_location_min)


async def intel_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load rules, gazetteer and templates once, off the event loop; refuse to start if they are broken."""
    settings = app[appkeys.SETTINGS]
    readiness = app[appkeys.READINESS]
    loop = asyncio.get_running_loop()
    try:
        rs = await loop.run_in_executor(app[appkeys.EXECUTOR], app[appkeys.RULES].reload)
        tpls = await loop.run_in_executor(app[appkeys.EXECUTOR], templates_mod.templates)
        params = analysis_params(settings)
    except (rules_mod.RulesError, templates_mod.TemplateError, ValueError) as exc:
        readiness.set("intel", False, str(exc))
        raise
    app[appkeys.INTEL] = IntelState(templates=tpls, params=params)
    readiness.set("intel", True, "rules loaded", **_rules_info(rs))
    yield


def setup(app: web.Application) -> None:
    """Register routes and cleanup contexts; give the app its rule book (loaded by ``intel_ctx``)."""
    # Created here, not in intel_ctx, because the dispatch, radio and calls contexts bind their
    # scorers to it and dispatch's context runs before this module's.
    settings = app[appkeys.SETTINGS]
    app[appkeys.RULES] = rules_mod.RuleBook(settings.intel.rules_path, settings.intel.gazetteer_path)
    app.cleanup_ctx.append(intel_ctx)
    r = app.router
    r.add_get("/api/kiosk/templates", kiosk_templates)
    r.add_post("/api/kiosk/drafts", kiosk_draft)
    r.add_post("/api/kiosk/reports", kiosk_report)
    r.add_post("/api/triage", triage_preview)
    r.add_get("/api/analysis/daily", analysis_daily)
    r.add_get("/api/analysis/daily.html", analysis_daily_html)
    r.add_get("/api/analysis/accountability", analysis_accountability)
    r.add_get("/api/admin/rules", rules_info)
    r.add_post("/api/admin/rules/reload", rules_reload)
