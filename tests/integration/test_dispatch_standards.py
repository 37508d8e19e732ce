"""Exports validated against the official schemas in ../shared/standards (offline), audit tampering
detected by `jingyun audit verify`, and the OpenAPI document."""

from __future__ import annotations

import asyncio
import functools
import json
import pathlib
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa
import yaml
from jsonschema import Draft4Validator
from lxml import etree
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from dispatch.tables import audit_log
from tests.conftest import auth
from tests.fixtures_dispatch import FAST_TIMERS, DispatchApi, _token
from web import appkeys
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@functools.cache
def _load(uri: str) -> Resource:
    path = pathlib.Path(unquote(urlsplit(uri).path))
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Resource.from_contents(doc, default_specification=DRAFT4)


@pytest.fixture(scope="module")
def eido_validator(shared_dir: pathlib.Path) -> Draft4Validator:
    root = (shared_dir / "standards/eido/schema/openapi.yaml").as_uri()
    return Draft4Validator({"$ref": f"{root}#/components/schemas/EmergencyIncidentDataObjectType"},
                           registry=Registry(retrieve=_load), format_checker=Draft4Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def registries(shared_dir: pathlib.Path) -> dict[str, set[str]]:
    doc = json.loads((shared_dir / "standards/eido/registries-021.1b.json").read_text(encoding="utf-8"))
    return {name: {row["value"] for row in rows} for name, rows in doc["registries"].items()}


@pytest.fixture(scope="module")
def cap_schema(shared_dir: pathlib.Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(shared_dir / "standards/cap/CAP-v1.2.xsd")))


def check_eido(eido: dict[str, Any], validator: Draft4Validator, codes: dict[str, set[str]]) -> None:
    errors = sorted(validator.iter_errors(eido), key=lambda e: list(e.absolute_path))
    assert not errors, [(list(e.absolute_path), e.message) for e in errors]
    inc = eido["incidentComponent"]
    assert inc["incidentTypeCommonRegistryText"] in codes["EIDO-IncidentType-Common"]
    assert set(inc["incidentStatusCommonRegistryText"]) <= codes["EIDO-IncidentStatus-Common"]
    assert isinstance(inc["incidentCommonPriorityNumber"], int)
    assert 0 <= inc["incidentCommonPriorityNumber"] <= 10
    assert inc["incidentPriorityInternalText"] in ("P1", "P2", "P3", "P4")
    for agency in eido["agencyComponent"]:
        assert set(agency["agencyRoleDescriptionRegistryText"]) <= codes["EIDO-AgencyRole"]
    for loc in eido.get("locationComponent", []):
        assert loc["locationTypeDescriptionRegistryText"] in codes["EIDO-LocationType"]
        if "locationByValue" in loc:
            etree.fromstring(loc["locationByValue"].encode())  # the PIDF-LO is well-formed XML
    for unit in eido.get("emergencyResourceComponent", []):
        assert unit["emergencyResourceTypeCommonRegistryText"] in codes["EIDO-EmergencyResourceType-Common"]
        assert unit["primaryUnitStatusRegistryText"] in codes["EIDO-PrimaryUnitStatus-Common"]
        assert set(unit["secondaryUnitStatusRegistryText"]) <= codes["EIDO-SecondaryUnitStatus-Common"]


async def test_eido_export_validates_through_the_lifecycle(make_client: Any, stack: dict[str, str],
                                                           eido_validator: Draft4Validator,
                                                           registries: dict[str, set[str]]) -> None:
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS}))
    unit = await api.unit("Futian 02")
    inc = await api.incident("深南大道和福田路交叉口有人拿刀砍人，地上躺着一个人一直在流血，你们快来！",
                             location_text="深南大道和福田路交叉口")
    eido = await api.call("GET", f"/api/incidents/{inc['id']}/eido")
    check_eido(eido, eido_validator, registries)
    assert eido["incidentComponent"]["incidentCommonPriorityNumber"] == inc["priority"]
    assert eido["incidentComponent"]["internalIncidentId"] == inc["number"]
    order = await api.dispatch(inc["id"], unit["id"])
    await api.call("POST", f"/api/orders/{order['id']}/ack", headers=api.as_officer(unit["id"]))
    await api.call("POST", f"/api/units/{unit['id']}/status", json={"status": "en_route"})
    eido = await api.call("GET", f"/api/incidents/{inc['id']}/eido")
    check_eido(eido, eido_validator, registries)
    res = eido["emergencyResourceComponent"][0]
    assert res["secondaryUnitStatusRegistryText"] == ["AcknowledgedTransmission", "EnRoute"]
    assert eido["incidentComponent"]["incidentStatusCommonRegistryText"] == ["Active", "ResourcesEnroute"]
    for text in ("Someone scratched my parked car last night on Fuhua Road.",
                 "我想咨询一下港澳通行证签注怎么办理", "Gas smell in the stairwell of building 3, residents evacuated"):
        other = await api.incident(text)
        check_eido(await api.call("GET", f"/api/incidents/{other['id']}/eido"), eido_validator, registries)
    closed = await api.incident("Lost my umbrella")
    await api.call("POST", f"/api/incidents/{closed['id']}/status", json={"status": "cancelled"})
    check_eido(await api.call("GET", f"/api/incidents/{closed['id']}/eido"), eido_validator, registries)


def test_the_checks_catch_what_the_schema_does_not(eido_validator: Draft4Validator,
                                                   registries: dict[str, set[str]],
                                                   shared_dir: pathlib.Path) -> None:
    sample = json.loads((shared_dir / "standards/eido/examples/authored-dispatch-stabbing.json").read_text())
    sample["agentComponent"] = []  # its 'Responder' role is an unchecked placeholder; ours has none
    for res in sample["emergencyResourceComponent"]:
        res["agentReference"] = []
    check_eido(sample, eido_validator, registries)
    for field, bad in (("incidentCommonPriorityNumber", 11), ("incidentTypeCommonRegistryText", "KNIFE_FIGHT"),
                       ("incidentCommonPriorityNumber", "9")):
        broken = json.loads(json.dumps(sample))
        broken["incidentComponent"][field] = bad
        with pytest.raises(AssertionError):
            check_eido(broken, eido_validator, registries)


async def test_alerts_export_as_valid_cap(make_client: Any, cap_schema: etree.XMLSchema) -> None:
    api = DispatchApi(await make_client(env={**FAST_TIMERS, "JINGYUN_ACK_TIMEOUT": "1"}))
    unit = await api.unit("Cap-1")
    console = await api.console_ws()
    inc = await api.incident("Man with a knife threatening people outside the mall right now",
                             location_text="COCO Park")
    await api.dispatch(inc["id"], unit["id"])
    alert = (await console.next("alert", wait_s=5, where=lambda m: m["alert"]["kind"] == "ack_timeout"))["alert"]
    xml = await api.call("GET", f"/api/alerts/{alert['id']}/cap")
    doc = etree.fromstring(xml.encode())
    cap_schema.assertValid(doc)
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    identifier = doc.findtext("cap:identifier", namespaces=ns)
    assert identifier and not any(c in identifier for c in " ,<&")
    assert doc.findtext("cap:incidents", namespaces=ns) == inc["number"]
    assert doc.findtext("cap:info/cap:severity", namespaces=ns) == "Severe"
    assert doc.findtext("cap:info/cap:parameter/cap:value", namespaces=ns) == str(inc["priority"])
    circle = doc.findtext("cap:info/cap:area/cap:circle", namespaces=ns)
    assert circle is not None and circle.endswith(" 0.5")
    # One info block per language, each in its own words.
    infos = {i.findtext("cap:language", namespaces=ns): i.findtext("cap:description", namespaces=ns)
             for i in doc.findall("cap:info", namespaces=ns)}
    assert infos == {"en-US": alert["message"], "zh-CN": alert["message_zh"]}
    # An alert without an incident (e.g. scoring unavailable, raised by hand) is valid too.
    from dispatch.exports import alert_to_cap

    bare = alert_to_cap({"id": "a1", "kind": "test", "severity": "warning", "message": "系统测试",
                         "created_at": "2026-01-01T00:00:00.123456Z", "incident_id": None, "order_id": None},
                        None, "futian.police.example")
    cap_schema.assertValid(etree.fromstring(bare))
    await console.close()


async def test_audit_tampering_is_detected(make_client: Any, stack: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                           tmp_path: pathlib.Path) -> None:
    client = await make_client(env={**stack, **FAST_TIMERS})
    api = DispatchApi(client)
    admin = {"Authorization": f"Bearer {_token(api.app, Role.ADMIN)}"}  # type: ignore[arg-type]
    unit = await api.unit("Audit-1")
    inc = await api.incident()
    order = await api.dispatch(inc["id"], unit["id"])
    await api.call("POST", f"/api/orders/{order['id']}/ack", headers=api.as_officer(unit["id"]))
    ok = await api.call("GET", "/api/audit/verify", headers=admin)
    assert ok["ok"] and ok["entries"] >= 4
    assert api.app is not None
    engine = api.app[appkeys.DB]
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(audit_log).order_by(audit_log.c.seq))).all()
    acts = {r.action for r in rows}
    assert {"unit.create", "incident.create", "order.create", "order.acknowledge"} <= acts
    ack = next(r for r in rows if r.action == "order.acknowledge" and order["id"] in r.target)
    assert json.loads(ack.before) == {"state": "offered"} and json.loads(ack.after)["state"] == "acknowledged"

    target = next(r for r in rows if r.action == "order.create" and order["id"] in r.target)
    async with engine.begin() as conn:  # someone edits who created the order
        await conn.execute(audit_log.update().where(audit_log.c.seq == target.seq).values(actor="nobody"))
    bad = await api.call("GET", "/api/audit/verify", 409, headers=admin)
    assert (bad["ok"], bad["problem"], bad["seq"]) == (False, "modified", target.seq)

    # The CLI reads the same database and reports the same first broken entry.
    from web.cli import main

    settings = api.app[appkeys.SETTINGS]
    monkeypatch.setenv("JINGYUN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("JINGYUN_REDIS_PREFIX", settings.redis_prefix)
    if settings.database_url:
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    if stack.get("REDIS_URL") == "":
        monkeypatch.delenv("REDIS_URL", raising=False)
    else:
        monkeypatch.setenv("REDIS_URL", settings.redis_url or "")
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["audit", "verify", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["problem"], out["seq"]) == ("modified", target.seq)

    async with engine.begin() as conn:  # put it back, then remove an entry in the middle
        await conn.execute(audit_log.update().where(audit_log.c.seq == target.seq).values(actor=target.actor))
    assert (await api.call("GET", "/api/audit/verify", headers=admin))["ok"]
    assert await asyncio.to_thread(main, ["audit", "verify"]) == 0
    assert "chain intact" in capsys.readouterr().out
    async with engine.begin() as conn:
        await conn.execute(audit_log.delete().where(audit_log.c.seq == target.seq))
    bad = await api.call("GET", "/api/audit/verify", 409, headers=admin)
    assert bad["seq"] == target.seq + 1 and bad["problem"] == "inserted_or_removed"
    async with engine.begin() as conn:
        await conn.execute(audit_log.insert().values(**target._mapping))
        last = (await conn.execute(sa.select(sa.func.max(audit_log.c.seq)))).scalar()
        await conn.execute(audit_log.delete().where(audit_log.c.seq == last))  # cut the tail
    bad = await api.call("GET", "/api/audit/verify", 409, headers=admin)
    assert (bad["problem"], bad["seq"]) == ("removed_at_end", last)


async def test_openapi_document_lists_every_dispatch_route(make_client: Any) -> None:
    client = await make_client()
    assert (await client.get("/api/openapi.json")).status == 401  # the route map is for signed-in clients
    resp = await client.get("/api/openapi.json", headers=auth(client.server.app, "kiosk"))
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    for route in client.server.app.router.routes():  # type: ignore[union-attr]
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method == "HEAD" or not path.startswith(("/api/incidents", "/api/units",
                                                                      "/api/orders", "/api/alerts", "/ws/")):
            continue
        if path.startswith("/ws/") and path not in ("/ws/unit", "/ws/console"):
            continue
        assert route.method.lower() in doc["paths"].get(path, {}), f"{route.method} {path} is not documented"
    for name in ("Incident", "Unit", "Order", "Recommendations", "Error"):
        assert name in doc["components"]["schemas"]


def test_openapi_fragments_merge_and_refuse_duplicates(tmp_path: pathlib.Path) -> None:
    from web.api.openapi import build_document

    (tmp_path / "a.yaml").write_text("paths:\n  /api/x:\n    get: {summary: x}\n")
    (tmp_path / "b.yaml").write_text("paths:\n  /api/x:\n    post: {summary: y}\n"
                                     "components:\n  schemas:\n    Thing: {type: object}\n")
    doc = build_document(tmp_path)
    assert set(doc["paths"]["/api/x"]) == {"get", "post"} and "Thing" in doc["components"]["schemas"]
    (tmp_path / "c.yaml").write_text("paths:\n  /api/x:\n    get: {summary: again}\n")
    with pytest.raises(ValueError, match="already documented"):
        build_document(tmp_path)
