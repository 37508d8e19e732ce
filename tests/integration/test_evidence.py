"""The evidence bag end to end on both stacks: registration, streamed upload, download, export,
custody trail, loss statements, references, refusals, and `jingyun evidence verify` on a tampered file.

Real app (``create_app``), real SQLite / PostgreSQL, real Redis; uploads go over real HTTP, and the
cut-off upload over a raw socket that closes mid-body.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_ADMIN_URL, REDIS_URL
from web import appkeys
from web.auth import Role, issue_token

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

LIMIT = 64 * 1024
VIDEO = bytes(range(256)) * 160  # 40 KiB of "footage"
REPO = Path(__file__).resolve().parents[2]


def who(app: Any, role: Role, subject: str | None = None, unit: str | None = None) -> dict[str, str]:
    token = issue_token(app[appkeys.SECRET], role, unit_id=unit or ("u-" + (subject or "x") if role is Role.OFFICER
                                                                     else None), subject=subject, ttl=600)
    return {"Authorization": f"Bearer {token}"}


def stamp(minutes_ago: int) -> str:
    t = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) - dt.timedelta(minutes=minutes_ago)
    return t.replace(microsecond=0).isoformat()


def media_body(incident_id: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "video", "incident_id": incident_id, "title": "Metro exit A, camera 3",
            "purpose": "shows the suspect taking the phone at 08:14",
            "sign_off": {"officer": "王立", "badge": "031245", "confirmed": True},
            "source": {"device": "CAM-03", "device_type": "cctv", "place": "Futian metro exit A",
                       "owner": "Shenzhen Metro", "owner_contact": "0755-0000"},
            "pulled_at": stamp(10), "pulled_place": "metro control room",
            "recorded_from": stamp(90), "recorded_to": stamp(60), **extra}


async def call(client: Any, method: str, path: str, headers: dict[str, str], expect: int, **kw: Any) -> Any:
    resp = await client.request(method, path, headers=headers, **kw)
    text = await resp.text()
    assert resp.status == expect, f"{method} {path}: {resp.status} {text}"
    return json.loads(text) if resp.content_type == "application/json" else await resp.read()


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def cut_off_upload(client: Any, path: str, headers: dict[str, str], declared: int, sent: bytes) -> None:
    """A client that declares ``declared`` bytes, sends ``sent`` and goes away."""
    _reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    head = [f"PUT {path} HTTP/1.1", f"Host: {client.server.host}", "Content-Type: video/mp4",
            f"Content-Length: {declared}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    writer.write("\r\n".join(head).encode() + sent)
    await writer.drain()
    await asyncio.sleep(0.2)  # the server has started streaming the body to disk
    writer.transport.abort()


@pytest.fixture
async def own_db(stack: dict[str, str], pg_url: str) -> AsyncIterator[dict[str, str]]:
    """The stack, with a PostgreSQL database of this test's own: `jingyun evidence verify` checks every kept
    file the database lists, and other tests' files are in their own data directories."""
    if "DATABASE_URL" not in stack:
        yield stack
        return
    import asyncpg

    name = f"jingyun_ev_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield {**stack, "DATABASE_URL": f"{pg_url.rsplit('/', 1)[0]}/{name}"}
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def test_evidence_bag(own_db: dict[str, str], make_client: Any, dispatch_api: Any) -> None:
    stack = own_db
    client = await make_client(env={**stack, "JINGYUN_EVIDENCE_MAX_BYTES": str(LIMIT)})
    app = client.server.app
    root = app[appkeys.SETTINGS].data_dir / "evidence"
    incident = (await dispatch_api(client).incident())["id"]
    wang = who(app, Role.OFFICER, "wang.li")
    zhao = who(app, Role.OFFICER, "zhao.min")

    # Bad bodies: 400 naming the field and what is accepted; nothing registered.
    for body, field in [({**media_body(incident), "colour": "red"}, "colour"),
                        ({**media_body(incident), "pulled_at": "2026-01-31 08:15"}, "pulled_at"),
                        ({**media_body(incident), "sign_off": {"officer": "王立", "badge": "1"}}, "sign_off.confirmed"),
                        ({**media_body(incident), "source": {"device": "x", "device_type": "drone", "place": "p",
                                                             "owner": "o"}}, "source.device_type"),
                        ({k: v for k, v in media_body(incident).items() if k != "incident_id"}, "incident_id")]:
        err = (await call(client, "POST", "/api/evidence", wang, 400, json=body))["error"]
        assert err["code"] == "bad_request" and err["details"]["field"] == field, err
    resp = await client.post("/api/evidence", data="not json", headers=wang)
    assert resp.status == 400
    err = (await call(client, "POST", "/api/evidence", wang, 404, json=media_body("no-such-incident")))["error"]
    assert err["details"]["field"] == "incident_id"
    assert (await call(client, "GET", "/api/evidence", wang, 200))["evidence"] == []

    item = await call(client, "POST", "/api/evidence", wang, 201, json=media_body(incident))
    ev_id = item["id"]
    assert item["state"] == "awaiting_file" and item["submitted_by"] == "wang.li"
    assert item["sign_off"]["digest"] and item["registration_intact"] is True
    assert item["pulled_at"].endswith("Z") and item["source"]["device_type"] == "cctv"
    path = f"/api/evidence/{ev_id}/file"

    # Over the limit: 413 before a byte is read (declared), or as soon as it is passed (chunked).
    resp = await client.put(path, data=b"x" * (LIMIT + 1), headers={**wang, "Content-Type": "video/mp4"})
    assert resp.status == 413 and (await resp.json())["error"]["details"]["limit"] == LIMIT

    async def too_long() -> Any:
        for _ in range(LIMIT // 8192 + 2):
            yield b"y" * 8192

    resp = await client.put(path, data=too_long(), headers={**wang, "Content-Type": "video/mp4"})
    assert resp.status == 413
    # Wrong content type for a video, and another officer's item: refused before reading.
    resp = await client.put(path, data=VIDEO, headers={**wang, "Content-Type": "text/plain"})
    assert resp.status == 400 and (await resp.json())["error"]["details"]["field"] == "content_type"
    resp = await client.put(path, data=VIDEO, headers={**zhao, "Content-Type": "video/mp4"})
    assert resp.status == 403

    # Cut off midway: no file (not even a partial one), no registration of it.
    registry = app[appkeys.METRICS_REGISTRY]

    def puts_done() -> float:  # PUTs on the route the server has finished with, whatever their status
        return sum(s.value for m in registry.collect() if m.name == "jingyun_http_requests" for s in m.samples
                   if s.name.endswith("_total") and s.labels.get("route") == "/api/evidence/{id}/file"
                   and s.labels.get("method") == "PUT")

    before = puts_done()
    await cut_off_upload(client, path, wang, len(VIDEO), VIDEO[:15000])
    for _ in range(100):
        if puts_done() > before:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the server never finished the cut-off upload")
    assert files_under(root) == []
    assert (await call(client, "GET", f"/api/evidence/{ev_id}", wang, 200))["state"] == "awaiting_file"

    # The whole file: kept read-only under DATA_DIR/evidence/<id[:2]>/<id>, hash measured on receipt.
    digest = hashlib.sha256(VIDEO).hexdigest()
    kept = await call(client, "PUT", f"{path}?filename=cam3-0814.mp4", {**wang, "Content-Type": "video/mp4",
                                                                        "X-Content-SHA256": digest}, 201, data=VIDEO)
    assert kept["state"] == "kept" and kept["file"]["sha256"] == digest and kept["file"]["size"] == len(VIDEO)
    assert kept["file"]["filename"] == "cam3-0814.mp4" and kept["file"]["received_by"] == "wang.li"
    assert files_under(root) == [f"{ev_id[:2]}/{ev_id}"]
    assert (root / ev_id[:2] / ev_id).stat().st_mode & 0o222 == 0
    err = (await call(client, "PUT", path, {**wang, "Content-Type": "video/mp4"}, 409, data=VIDEO))["error"]
    assert err["details"]["current"] == "kept"

    # Download: the bytes, and their hash in the headers.
    resp = await client.get(path, headers=wang)
    assert resp.status == 200 and await resp.read() == VIDEO
    assert resp.headers["X-Content-SHA256"] == digest and resp.content_type == "video/mp4"
    assert resp.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(VIDEO).digest()).decode()}:"
    # Export (the record of it comes back as a manifest) and a physical hand-over of the media.
    manifest = await call(client, "POST", f"/api/evidence/{ev_id}/export", wang, 200,
                          json={"format": "media", "recipient": "福田区人民检察院", "note": "DVD 1 of 1"})
    assert manifest["export"]["recipient"] == "福田区人民检察院" and manifest["evidence"]["file"]["sha256"] == digest
    err = (await call(client, "POST", f"/api/evidence/{ev_id}/export", wang, 400, json={"format": "fax",
                                                                                        "recipient": "x"}))["error"]
    assert err["details"]["field"] == "format" and "media" in err["details"]["accepted"]
    await call(client, "POST", f"/api/evidence/{ev_id}/handover", wang, 201,
               json={"from": "王立 031245", "to": "证物室 李梅", "note": "USB stick, sealed bag 0117"})

    trail = (await call(client, "GET", f"/api/evidence/{ev_id}/custody", wang, 200))["events"]
    events = [e["event"] for e in trail]
    assert events == ["registered", "viewed", "file_received", "downloaded", "exported", "handed_over"], events
    assert trail[2]["details"]["sha256"] == digest and trail[4]["details"]["format"] == "media"
    assert trail[5]["details"]["from"] == "王立 031245" and all(e["actor"] == "wang.li" for e in trail)
    assert manifest["custody"][-1]["event"] == "exported"

    # Another officer sees none of it; a kiosk or interviewer may not even ask.
    assert (await call(client, "GET", f"/api/evidence/{ev_id}", zhao, 403))["error"]["code"] == "forbidden"
    await call(client, "GET", path, zhao, 403)
    assert (await call(client, "GET", "/api/evidence", zhao, 200))["evidence"] == []
    for role in (Role.KIOSK, Role.INTERVIEWER):
        await call(client, "POST", "/api/evidence", who(app, role), 403, json=media_body(incident))
        await call(client, "GET", f"/api/evidence/{ev_id}", who(app, role), 403)
    # A supervisor reads every item; viewing is a custody event with the supervisor's name on it.
    await call(client, "GET", f"/api/evidence/{ev_id}", who(app, Role.DISPATCHER, "duty-sup"), 200)
    assert (await call(client, "GET", f"/api/evidence/{ev_id}/custody", wang, 200))["events"][-1]["actor"] == \
        "duty-sup"

    # Lost footage: a signed statement instead of a file.
    lost = await call(client, "POST", "/api/evidence", wang, 201, json=media_body(incident, title="Shop doorbell"))
    bad = {"condition": "stolen", "statement": "x", "responsible": "y", "responsible_role": "z", "confirmed": True}
    err = (await call(client, "POST", f"/api/evidence/{lost['id']}/loss", wang, 400, json=bad))["error"]
    assert err["details"]["field"] == "loss.condition"
    statement = {"condition": "damaged", "statement": "录像机硬盘损坏，08:00-09:00 无法导出", "responsible": "陈店主",
                 "responsible_role": "shop owner, recorder operator", "confirmed": True}
    done = await call(client, "POST", f"/api/evidence/{lost['id']}/loss", wang, 200, json=statement)
    assert done["state"] == "damaged" and done["loss"]["responsible"] == "陈店主"
    await call(client, "PUT", f"/api/evidence/{lost['id']}/file", {**wang, "Content-Type": "video/mp4"}, 409,
               data=VIDEO)
    await call(client, "GET", f"/api/evidence/{lost['id']}/file", wang, 409)

    # References: an interview record that exists is attached; one that does not is refused.
    interview = await call(client, "POST", "/api/interviews", who(app, Role.INTERVIEWER, "officer-wang"), 201,
                           json={"case_number": "FT-2024-0117", "language": "zh",
                                 "participants": [{"name": "王警官", "role": "interviewer"}]})
    ref = {"kind": "interview_record", "incident_id": incident, "reference_id": interview["id"],
           "title": "Witness interview", "purpose": "the witness saw the theft",
           "sign_off": {"officer": "王立", "badge": "031245", "confirmed": True}}
    assert (await call(client, "POST", "/api/evidence", wang, 201, json=ref))["state"] == "referenced"
    err = (await call(client, "POST", "/api/evidence", wang, 400, json={**ref, "pulled_at": stamp(1)}))["error"]
    assert err["details"]["field"] == "pulled_at"
    err = (await call(client, "POST", "/api/evidence", wang, 404,
                      json={**ref, "kind": "radio_transmission", "reference_id": "nope"}))["error"]
    assert err["details"]["field"] == "reference_id"
    listed = (await call(client, "GET", f"/api/evidence?incident_id={incident}", wang, 200))["evidence"]
    assert {e["state"] for e in listed} == {"kept", "damaged", "referenced"}

    # `jingyun evidence verify`: one kept file altered on disk is found, named, and recorded.
    second = await call(client, "POST", "/api/evidence", wang, 201, json=media_body(incident, title="Bus camera"))
    await call(client, "PUT", f"/api/evidence/{second['id']}/file", {**wang, "Content-Type": "video/mp4"}, 201,
               data=VIDEO[::-1])
    if "DATABASE_URL" in stack:  # the all-well run once (each run is a new process: ~2 s)
        proc = await run_verify(app, stack)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "evidence verify OK: 2 kept files" in proc.stdout
    tampered = root / ev_id[:2] / ev_id
    os.chmod(tampered, 0o640)
    tampered.write_bytes(VIDEO[:-1] + b"!")
    proc = await run_verify(app, stack, "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["files"] == 2 and report["counts"]["mismatch"] == 1 and report["counts"]["ok"] == 1
    assert report["problems"][0]["id"] == ev_id and report["problems"][0]["actual_sha256"] != digest
    trail = (await call(client, "GET", f"/api/evidence/{ev_id}/custody", wang, 200))["events"]
    verified = [e["details"]["status"] for e in trail if e["event"] == "verified"]
    assert verified == (["ok", "mismatch"] if "DATABASE_URL" in stack else ["mismatch"])
    # The custody events of the command are in the chain, and the chain (with its head in Redis) holds.
    chain = await app[appkeys.DISPATCH].verify_audit()
    assert chain.ok, chain.message


async def run_verify(app: Any, stack: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    settings = app[appkeys.SETTINGS]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
           "JINGYUN_DATA_DIR": str(settings.data_dir), "JINGYUN_REDIS_PREFIX": settings.redis_prefix,
           "JINGYUN_LOG_JSON": "0", "REDIS_URL": REDIS_URL, **stack}
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "web.cli", "evidence", "verify", *args],
                                   capture_output=True, text=True, timeout=60, env=env, cwd=REPO)


def test_start_up_sweep_spares_uploads_in_progress(tmp_path: Path) -> None:
    """Processes share the evidence directory: a starting one deletes only partial uploads left idle."""
    from cases.upload import TEMP_PREFIX, remove_stale_temps
    from web.api.cases import STALE_UPLOAD_S

    (tmp_path / "ab").mkdir()
    idle, live = tmp_path / "ab" / f"{TEMP_PREFIX}idle", tmp_path / "ab" / f"{TEMP_PREFIX}live"
    idle.write_bytes(b"x")
    live.write_bytes(b"y")
    long_ago = dt.datetime.now().timestamp() - STALE_UPLOAD_S - 60
    os.utime(idle, (long_ago, long_ago))
    assert remove_stale_temps(tmp_path, older_than_s=STALE_UPLOAD_S) == [idle]
    assert live.exists() and not idle.exists()
