"""Duplicate linking stays right and bounded with many open incidents nearby (reliability defect D7),
on both stacks. The crowd of open incidents is written straight into the incidents table (creating
300 through the API would take most of the test); the new report goes through the real route."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from dispatch.duplicates import DUPLICATE_MAX_LINKS
from dispatch.tables import incidents
from tests.conftest import auth
from tests.fixtures_dispatch import DispatchApi
from web import appkeys

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

# Far from every other test's incidents (the PostgreSQL database is shared by the session's tests).
LAT, LON = 30.2741, 120.1551
M_PER_DEG = 111_195.0


def _row(text: str, category: str, lat: float | None, lon: float | None, minutes_ago: float,
         status: str = "triaged") -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {"id": uuid.uuid4().hex[:16], "number": f"JY-T-{uuid.uuid4().hex[:12]}", "source": "call", "text": text,
            "lang": "en", "category": category, "priority": 5, "level": "P2", "triage": None,
            "priority_override": None, "location_text": None, "lat": lat, "lon": lon, "report": None,
            "status": status, "merged_into": None, "created_by": "test", "updated_at": now,
            "created_at": now - dt.timedelta(minutes=minutes_ago)}


async def test_many_open_incidents_nearby_still_link_the_right_duplicate(make_client: Any,
                                                                         stack: dict[str, str]) -> None:
    api = DispatchApi(await make_client(env=stack))
    # The real duplicate: reported 18 minutes ago (older than all the crowd), 5 m away, same van plate.
    right = await api.incident("A white van plate 粤B·D8812 knocked down a cyclist at the Gudun Road crossing, "
                               "the driver is trying to drive off", lat=LAT, lon=LON + 5 / M_PER_DEG)
    category = right["category"]
    assert category, right
    crowd, far, stale, closed = [], [], [], []
    for i in range(300):  # similar reports, same kind of event, 50-450 m away, all newer than the real one
        dist = 50 + (i % 9) * 50
        lat = LAT + (dist / M_PER_DEG) * (1 if i % 2 else -1) * (0.6 if i % 3 else 1.0)
        crowd.append(_row(f"Traffic accident at the Gudun Road crossing, a car hit a cyclist, caller {i}",
                          category, lat, LON, minutes_ago=10 - i / 40))
    for _ in range(20):  # identical wording but out of reach: 700 m away, 45 minutes ago, or closed
        text = right["text"]
        far.append(_row(text, category, LAT + 700 / M_PER_DEG, LON, minutes_ago=1))
        stale.append(_row(text, category, LAT, LON, minutes_ago=45))
        closed.append(_row(text, category, LAT, LON, minutes_ago=2, status="closed"))
    engine = api.client.server.app[appkeys.DB]
    async with engine.begin() as conn:
        await conn.execute(incidents.insert(), crowd + far + stale + closed)
    async with engine.begin() as conn:  # backdate the real one behind the crowd
        await conn.execute(incidents.update().where(incidents.c.id == right["id"]).values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=18)))

    new = await api.incident("White van 粤BD8812 hit a cyclist at Gudun Road crossing and the driver is leaving",
                             lat=LAT, lon=LON)
    links = new["duplicates"]
    assert links[0]["incident_id"] == right["id"], links[:3]
    assert any("same plate" in e for e in links[0]["evidence"])
    assert 1 < len(links) <= DUPLICATE_MAX_LINKS  # the crowd is linked too, but only the best few
    scores = [d["score"] for d in links]
    assert scores == sorted(scores, reverse=True)
    out_of_reach = {r["id"] for r in far + stale + closed}
    assert not out_of_reach & {d["incident_id"] for d in links}
    # Both sides see the link, and the links went through the audit chain intact.
    other_side = await api.call("GET", f"/api/incidents/{right['id']}")
    assert new["id"] in [d["incident_id"] for d in other_side["duplicates"]]
    report = await api.call("GET", "/api/audit/verify", headers=auth(api.client.server.app, "admin"))
    assert report["ok"] is True


async def test_incident_without_coordinates_still_matches_on_the_plate(make_client: Any) -> None:
    """The box filter keeps incidents with no coordinates: a shared plate links them."""
    api = DispatchApi(await make_client())
    first = await api.call("POST", "/api/incidents", 201, json={
        "text": "粤B·77Q31 白色轿车在滨河大道蛇形驾驶", "source": "call"})
    engine = api.client.server.app[appkeys.DB]
    async with engine.begin() as conn:  # make sure it has no coordinates, whatever the scorer found
        await conn.execute(incidents.update().where(incidents.c.id == first["id"]).values(lat=None, lon=None))
        await conn.execute(incidents.insert(), [
            _row(f"Car accident on Binhe Avenue, report {i}", "traffic", LAT + i / 1e5, LON, minutes_ago=3)
            for i in range(50)])
    new = await api.incident("A white car plate 粤B77Q31 weaving between lanes", lat=LAT, lon=LON)
    assert first["id"] in [d["incident_id"] for d in new["duplicates"]]
