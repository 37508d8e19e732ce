"""Realistic synthetic history for a fresh install (``jingyun seed-demo``): pure, seeded generation.

The generator returns plain dicts; the command feeds them through the dispatch service so they are
stored, scored and audited like real reports. Volumes follow a day/night rhythm, some places are
hotspots (Huaqiangbei theft, port crowds, village e-bike theft), and the day before ``today`` has an
e-bike theft spike at one village so the brief has something to find.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

# Phrases per category: (lang, text with {p} for the place). Written for the demo, not taken from test data.
PHRASES: dict[str, list[tuple[str, str]]] = {
    "theft": [
        ("zh", "我在{p}的手机被偷了，发现的时候小偷已经不见了"),
        ("zh", "{p}楼下的电动车昨晚被偷了，锁被剪断"),
        ("en", "My wallet was stolen at {p} this afternoon, I noticed after I left."),
        ("zh", "在{p}人多的地方背包被拉开，钱包没了"),
        ("yue", "我架电动单车喺{p}俾人偷咗")],
    "fraud": [
        ("zh", "我接到自称客服的电话，按对方要求转了五千块，后来发现被骗了，我在{p}"),
        ("en", "Someone used my bank card online without my consent, I live near {p}.")],
    "public_order": [
        ("zh", "{p}有两伙人在打架，没有人拿东西"),
        ("zh", "{p}的KTV半夜还在唱歌，噪音扰民"),
        ("en", "A drunk man is shouting and pushing people at {p}, no weapons.")],
    "traffic": [
        ("zh", "{p}两辆车追尾，占了一条车道，人都没事"),
        ("en", "Minor collision at {p}, no injuries, cars moved aside."),
        ("zh", "{p}有辆车一直在蛇形，司机可能是醉驾")],
    "medical": [
        ("zh", "{p}有个老人突然晕倒了，叫不醒"),
        ("en", "A man collapsed at {p} and is not breathing.")],
    "violent_crime": [
        ("zh", "{p}有人拿刀砍人，有人受伤流血"),
        ("zh", "昨天在{p}被人打了一拳，现在想报案")],
    "burglary": [
        ("zh", "我家在{p}，回家发现门被撬了，东西被偷了，小偷已经走了"),
        ("en", "I can hear someone breaking into the shop next door at {p} right now.")],
    "fire": [
        ("zh", "{p}一个垃圾桶着火了，旁边没有人"),
        ("zh", "{p}一栋楼着火了，里面还有人被困")],
    "missing_person": [
        ("zh", "我家老人有老年痴呆，早上在{p}走失了"),
        ("en", "My 6-year-old son is missing at {p}, we can't find him.")],
    "domestic": [
        ("zh", "{p}隔壁夫妻在吵架，一直在摔东西")],
    "lost_property": [
        ("zh", "在{p}丢了身份证，想问怎么补办"),
        ("en", "I lost my passport near {p}, I don't think it was stolen.")],
    "service_request": [
        ("zh", "请问{p}附近哪里可以办港澳通行证签注"),
        ("zh", "有辆车堵在我车位前面，在{p}，想请你们帮忙挪车")],
    "hazard": [
        ("zh", "{p}一栋楼的消防通道被杂物堵住了")],
}
# Relative frequency of categories in a day.
MIX = {"theft": 22, "public_order": 14, "traffic": 14, "fraud": 10, "service_request": 10, "lost_property": 8,
       "medical": 6, "burglary": 4, "violent_crime": 4, "missing_person": 3, "domestic": 3, "fire": 2, "hazard": 2}
# Hours weighted towards evening (index = local hour).
HOURLY = [2, 1, 1, 1, 1, 1, 2, 4, 6, 6, 6, 6, 7, 6, 6, 6, 7, 8, 9, 9, 8, 7, 5, 3]
HOTSPOTS = {"theft": ["华强北", "福田口岸", "COCO Park"], "public_order": ["福田口岸", "皇岗村"]}
DEMO_UNITS = [
    ("福田01", "patrol_car", ["patrol", "first_aid"]), ("福田02", "patrol_car", ["patrol", "traffic"]),
    ("福田03", "patrol_car", ["patrol", "armed"]), ("福田04", "motorcycle", ["patrol", "motorcycle"]),
    ("福田05", "foot_patrol", ["patrol"]), ("交警11", "traffic", ["traffic", "first_aid"]),
    ("特警21", "swat", ["armed", "negotiator", "first_aid"]), ("刑侦31", "investigator", ["investigation"]),
]


def _places(gazetteer_places: Sequence[Any]) -> list[Any]:
    return [p for p in gazetteer_places if p.kind not in ("district", "city")]


def history(today: dt.date, *, days: int, per_day: int, gazetteer_places: Sequence[Any], tz: str = "Asia/Shanghai",
            seed: int = 7) -> list[dict[str, Any]]:
    """Past incidents for the ``days`` days before ``today`` (local), oldest first."""
    rng = random.Random(seed)
    zone = ZoneInfo(tz)
    places = _places(gazetteer_places)
    by_name = {p.name: p for p in places}
    out = []
    for back in range(days, 0, -1):
        day = today - dt.timedelta(days=back)
        n = max(1, int(rng.gauss(per_day * (1.15 if day.weekday() >= 4 else 1.0), per_day * 0.15)))
        for _ in range(n):
            out.append(_one(rng, day, zone, places, by_name))
        if back == 1:  # the spike the brief should find
            spot = by_name.get("上沙村") or places[0]
            for _ in range(max(6, per_day // 3)):
                out.append(_one(rng, day, zone, places, by_name, category="theft", place=spot,
                                phrase=("zh", "{p}楼下的电动车昨晚被偷了，锁被剪断")))
    out.sort(key=lambda r: r["created_at"])
    return out


def _one(rng: random.Random, day: dt.date, zone: ZoneInfo, places: list[Any], by_name: dict[str, Any], *,
         category: str | None = None, place: Any = None, phrase: tuple[str, str] | None = None) -> dict[str, Any]:
    category = category or rng.choices(list(MIX), weights=list(MIX.values()))[0]
    if place is None:
        hot = [by_name[n] for n in HOTSPOTS.get(category, []) if n in by_name]
        place = rng.choice(hot) if hot and rng.random() < 0.5 else rng.choice(places)
    lang, template = phrase or rng.choice(PHRASES[category])
    label = place.name if lang != "en" else (place.aliases[0] if place.aliases else place.name)
    hour = rng.choices(range(24), weights=HOURLY)[0]
    local = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), zone)
    # Scatter around the place (~150 m) so hotspots are dense but not single points.
    lat = place.lat + rng.gauss(0, 0.0012)
    lon = place.lon + rng.gauss(0, 0.0012)
    return {"text": template.format(p=label), "lang": lang,
            "source": rng.choices(["call", "radio", "kiosk"], weights=[5, 3, 2])[0],
            "created_at": local.astimezone(dt.UTC), "lat": round(lat, 6), "lon": round(lon, 6),
            "location_text": label, "category_hint": category}


def live(now: dt.datetime, gazetteer_places: Sequence[Any], seed: int = 11) -> list[dict[str, Any]]:
    """A few open incidents from the last hour for the console."""
    rng = random.Random(seed)
    places = _places(gazetteer_places)
    by_name = {p.name: p for p in places}
    picks = [("violent_crime", "华强北"), ("traffic", "北环大道"), ("theft", "福田口岸"), ("medical", "车公庙"),
             ("public_order", "水围村")]
    out = []
    for i, (cat, name) in enumerate(picks):
        place = by_name.get(name) or rng.choice(places)
        item = _one(rng, now.date(), ZoneInfo("UTC"), places, by_name, category=cat, place=place,
                    phrase=PHRASES[cat][0])
        item["created_at"] = now - dt.timedelta(minutes=5 + 10 * i)
        out.append(item)
    return out
