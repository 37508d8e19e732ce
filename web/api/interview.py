"""HTTP routes of the interview sub-system (issue 6); see docs/interviews.md.

Sessions with case number and participants; transcript lines (typed, or bound to stored ASR
segments of ``/ws/transcribe``); corrections kept as versions; the interview's audio kept as
Opus; sign-off that locks the record and stores its hashes; exports and verification.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import BodyPartReader, web

from voice.audio import AudioError, decode_file
from voice.engine import DecodeOptions, transcribe_audio
from voice.interview import export
from voice.interview.model import check_role
from voice.interview.store import InterviewStore
from voice.radio.recording import encode_opus, recordings_of
from web import appkeys, diskspace
from web.api.common import audio_response, handles_errors, json_body, limit_param, retry_gap_now, voice_service
from web.auth import Role, principal, requires
from web.errors import ApiError, bad_request

ROLES = (Role.INTERVIEWER, Role.ADMIN)
VERIFY_ROLES = (Role.INTERVIEWER, Role.ADMIN, Role.SERVICE)
FORMATS = ("txt", "json", "docx")



def store(request: web.Request) -> InterviewStore:
    return request.app[appkeys.INTERVIEWS]


def actor(request: web.Request) -> str:
    return principal(request).subject


@requires(*ROLES)
@handles_errors
async def create(request: web.Request) -> web.Response:
    return web.json_response(await store(request).create(await json_body(request), actor=actor(request)), status=201)


@requires(*ROLES)
async def list_sessions(request: web.Request) -> web.Response:
    limit = limit_param(request, default=100, hi=1000)
    items = await store(request).list_sessions(case_number=request.query.get("case_number"), limit=limit)
    return web.json_response({"interviews": items})


@requires(*ROLES)
@handles_errors
async def get_session(request: web.Request) -> web.Response:
    return web.json_response(await store(request).get(request.match_info["id"]))


@requires(*ROLES)
@handles_errors
async def add_line(request: web.Request) -> web.Response:
    line = await store(request).add_line(request.match_info["id"], await json_body(request), actor=actor(request))
    return web.json_response(line, status=201)


@requires(*ROLES)
@handles_errors
async def bind_stream(request: web.Request) -> web.Response:
    body = await json_body(request)
    stream_id = body.get("stream_id")
    if not isinstance(stream_id, str) or not stream_id:
        raise bad_request("stream_id must be the stream_id of a /ws/transcribe stream (from its ready message)",
                          field="stream_id")
    role = check_role(body.get("speaker_role", "interviewee"))
    speaker = body.get("speaker") if isinstance(body.get("speaker"), str) else None
    added = await store(request).bind_stream(request.match_info["id"], stream_id, role, speaker,
                                             actor=actor(request))
    return web.json_response({"lines": added}, status=201)


@requires(*ROLES)
@handles_errors
async def edit_line(request: web.Request) -> web.Response:
    return web.json_response(await store(request).edit_line(request.match_info["id"], request.match_info["line"],
                                                            await json_body(request), actor=actor(request)))


@requires(*ROLES)
@handles_errors
async def rerun_gap_line(request: web.Request) -> web.Response:
    """Transcribe a gap line again from the utterance's kept audio; the line becomes an ASR line."""
    sid, line_id = request.match_info["id"], request.match_info["line"]
    st = store(request)
    session = await st.get(sid, with_lines=False)
    if session["state"] == "signed":
        raise ApiError(409, "locked", f"interview {sid} is signed; its gaps stay as recorded")
    gap_id = await st.gap_of_line(sid, line_id)
    result = await retry_gap_now(request.app, gap_id, actor=actor(request), private_ok=True)
    if result["transcript"] is None:
        return web.json_response({"line": None, "gap": result["gap"],
                                  "message": f"the re-run heard no words ({result['dropped']}); the gap stays"})
    line = await st.fill_gap(sid, line_id, result["transcript"], actor=actor(request))
    return web.json_response({"line": line, "gap": result["gap"]})


@requires(*ROLES)
@handles_errors
async def versions(request: web.Request) -> web.Response:
    items = await store(request).versions(request.match_info["id"], request.match_info.get("line"))
    return web.json_response({"versions": items})


@requires(*ROLES)
@handles_errors
async def finish(request: web.Request) -> web.Response:
    body = await json_body(request, optional=True)
    return web.json_response(await store(request).finish(request.match_info["id"], actor=actor(request),
                                                         ended_at=body.get("ended_at")))


@requires(*ROLES)
@handles_errors
async def sign(request: web.Request) -> web.Response:
    return web.json_response(await store(request).sign(request.match_info["id"], actor=actor(request)))


@requires(*VERIFY_ROLES)
@handles_errors
async def verify(request: web.Request) -> web.Response:
    return web.json_response(await store(request).verify(request.match_info["id"]))


@requires(*ROLES)
@handles_errors
async def export_record(request: web.Request) -> web.StreamResponse:
    fmt = request.query.get("format", "txt")
    if fmt not in FORMATS:
        raise bad_request(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")
    sid = request.match_info["id"]
    record = await store(request).get(sid)
    name = f"interview-{record['case_number']}-{sid}".replace("/", "_").replace(" ", "_")
    headers = {"X-Record-SHA256": (record.get("signature") or {}).get("record_sha256", "unsigned")}
    loop = asyncio.get_running_loop()
    if fmt == "txt":
        return web.Response(text=export.to_txt(record), content_type="text/plain", charset="utf-8",
                            headers={**headers, "Content-Disposition": f'attachment; filename="{name}.txt"'})
    if fmt == "json":
        audio = await recordings_of(request.app[appkeys.DB], "interview", sid)
        body = export.to_json(record, await store(request).versions(sid), audio)
        return web.Response(text=body, content_type="application/json", charset="utf-8",
                            headers={**headers, "Content-Disposition": f'attachment; filename="{name}.json"'})
    data = await loop.run_in_executor(request.app[appkeys.EXECUTOR], export.to_docx, record)
    return web.Response(body=data, headers={
        **headers, "Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Content-Disposition": f'attachment; filename="{name}.docx"'})


async def _upload_bytes(request: web.Request, limit: int) -> bytes:
    """The audio: the whole body (any audio type) or the 'audio' part of a multipart form."""
    data = bytearray()
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "audio":
                while chunk := await part.read_chunk(65536):
                    data.extend(chunk)
                    if len(data) > limit:
                        break
                break
    else:
        async for chunk in request.content.iter_chunked(65536):
            data.extend(chunk)
            if len(data) > limit:
                break
    if len(data) > limit:
        raise ApiError(413, "too_large", f"the audio is larger than the limit of {limit} bytes")
    if not data:
        raise bad_request("no audio: send the file as the request body (Content-Type: audio/wav, audio/ogg, ...) "
                          "or as the 'audio' part of a multipart form", field="audio")
    return bytes(data)


@requires(*ROLES)
@handles_errors
async def upload_audio(request: web.Request) -> web.Response:
    """Keep the interview's audio (Opus); ``?transcribe=true&speaker_role=...`` also adds ASR lines."""
    app = request.app
    rs = app[appkeys.SETTINGS].radio
    sid = request.match_info["id"]
    st = store(request)
    session = await st.get(sid, with_lines=False)
    if session["state"] == "signed":
        raise ApiError(409, "locked", f"interview {sid} is signed; no audio can be added")
    transcribe = request.query.get("transcribe", "false").lower() in ("1", "true", "yes")
    role = check_role(request.query.get("speaker_role", "interviewee")) if transcribe else None
    engine = None
    if transcribe:
        engine = voice_service(app).require_engine()
    raw = await _upload_bytes(request, app[appkeys.SETTINGS].max_request_bytes)
    # Opus is smaller than what is uploaded: the upload's size is a safe bound for what is kept.
    diskspace.require_room(app, rs.audio_min_free_mb, len(raw), "interview audio")
    loop = asyncio.get_running_loop()
    try:
        samples = await loop.run_in_executor(app[appkeys.EXECUTOR], decode_file, raw,
                                             app[appkeys.SETTINGS].interview.max_audio_seconds)
    except AudioError as exc:
        raise bad_request(str(exc), field="audio") from None
    encoded = await loop.run_in_executor(app[appkeys.EXECUTOR], encode_opus, samples, 16000, rs.opus_bitrate)
    # The lock is checked again in the insert's own transaction: the record may have been signed meanwhile.
    days = app[appkeys.SETTINGS].interview.audio_retention_days
    rec_id = await st.add_recording(sid, encoded, retention_days=days, actor=actor(request))
    added: list[dict[str, Any]] = []
    if engine is not None and role is not None:
        language, _ = engine.resolve_language(request.query.get("language") or session.get("language"))
        parts = await transcribe_audio(engine, samples, DecodeOptions(language=language, final=True))
        offset = float(request.query.get("offset", "0") or 0)
        for start, end, result in parts:
            added.append(await st.add_asr_segment(sid, rec_id, start + offset, end + offset, result.text,
                                                  result.language, result.confidence, role, actor=actor(request)))
    return web.json_response({"recording": {"id": rec_id, "sha256": encoded.sha256, "seconds": encoded.seconds,
                                            "bytes": len(encoded.data), "codec": "opus/ogg"},
                              "lines": added}, status=201)


@requires(*ROLES)
@handles_errors
async def list_audio(request: web.Request) -> web.Response:
    sid = request.match_info["id"]
    await store(request).get(sid, with_lines=False)
    return web.json_response({"audio": await recordings_of(request.app[appkeys.DB], "interview", sid)})


@requires(*ROLES)
@handles_errors
async def get_audio(request: web.Request) -> web.Response:
    sid, rec_id = request.match_info["id"], request.match_info["rec"]
    items = await recordings_of(request.app[appkeys.DB], "interview", sid)
    if not any(r["id"] == rec_id for r in items):
        raise ApiError(404, "not_found", f"interview {sid} has no recording {rec_id!r}")
    return await audio_response(request, rec_id, f"interview {sid}")


async def interview_ctx(app: web.Application) -> AsyncIterator[None]:
    dispatch = app.get(appkeys.DISPATCH)
    app[appkeys.INTERVIEWS] = InterviewStore(app[appkeys.DB], getattr(dispatch, "audit", None))
    yield


def setup(app: web.Application) -> None:
    """Register routes and cleanup contexts."""
    app.cleanup_ctx.append(interview_ctx)
    r = app.router
    r.add_post("/api/interviews", create)
    r.add_get("/api/interviews", list_sessions)
    r.add_get("/api/interviews/{id}", get_session)
    r.add_post("/api/interviews/{id}/lines", add_line)
    r.add_patch("/api/interviews/{id}/lines/{line}", edit_line)
    r.add_get("/api/interviews/{id}/lines/{line}/versions", versions)
    r.add_post("/api/interviews/{id}/lines/{line}/rerun", rerun_gap_line)
    r.add_get("/api/interviews/{id}/versions", versions)
    r.add_post("/api/interviews/{id}/streams", bind_stream)
    r.add_post("/api/interviews/{id}/finish", finish)
    r.add_post("/api/interviews/{id}/sign", sign)
    r.add_get("/api/interviews/{id}/verify", verify)
    r.add_get("/api/interviews/{id}/export", export_record)
    r.add_post("/api/interviews/{id}/audio", upload_audio)
    r.add_get("/api/interviews/{id}/audio", list_audio)
    r.add_get("/api/interviews/{id}/audio/{rec}", get_audio)


