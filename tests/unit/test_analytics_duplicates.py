"""Duplicate linking: close in time and place with similar content links; far, late or unrelated does not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics.duplicates import find_duplicates, haversine_m, text_similarity
from analytics.settings import IntelSettings

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
S = IntelSettings()
LIMITS = {"max_minutes": S.duplicate_max_minutes, "max_meters": S.duplicate_max_meters,
          "min_similarity": S.duplicate_min_similarity}


def inc(id_: str, text: str, category: str, lat: float | None, lon: float | None, minutes: float = 0) -> dict:
    return {"id": id_, "text": text, "category": category, "lat": lat, "lon": lon,
            "created_at": T0 + dt.timedelta(minutes=minutes)}


def test_second_caller_of_same_fire_is_linked_with_evidence() -> None:
    open_ = [inc("1", "景田路一栋居民楼着火了，浓烟很大", "fire", 22.5520, 114.0440),
             inc("2", "福华路有人打架", "public_order", 22.5380, 114.0620)]
    cand = inc("9", "景田路那边有栋楼起火了，好多烟", "fire", 22.5523, 114.0446, minutes=4)
    matches = find_duplicates(cand, open_, **LIMITS)
    assert [m.incident_id for m in matches] == ["1"]
    ev = " | ".join(matches[0].evidence)
    assert "min apart" in ev and "m apart" in ev and "same category: fire" in ev


def test_cross_language_reports_link_on_time_place_and_category() -> None:
    open_ = [inc("1", "Fight outside the night market in Shuiwei, around eight people", "public_order",
                 22.5240, 114.0580)]
    cand = inc("2", "水围村夜市门口一群人在打架", "public_order", 22.5242, 114.0582, minutes=3)
    assert [m.incident_id for m in find_duplicates(cand, open_, **LIMITS)] == ["1"]


def test_too_late_or_too_far_is_never_a_duplicate() -> None:
    base = inc("1", "华强北赛格广场门口有人抢包", "robbery", 22.5417, 114.0866)
    late = inc("2", "华强北赛格广场门口有人抢包", "robbery", 22.5417, 114.0866, minutes=S.duplicate_max_minutes + 1)
    far = inc("3", "华强北赛格广场门口有人抢包", "robbery", 22.5617, 114.0866, minutes=2)
    assert find_duplicates(late, [base], **LIMITS) == []
    assert find_duplicates(far, [base], **LIMITS) == []


def test_unrelated_incident_nearby_is_not_linked() -> None:
    open_ = [inc("1", "福田口岸地下停车场有两伙人打架", "public_order", 22.5160, 114.0685)]
    cand = inc("2", "福田口岸有个老人晕倒了", "medical", 22.5162, 114.0687, minutes=5)
    assert find_duplicates(cand, open_, **LIMITS) == []


def test_shared_plate_is_strong_evidence_without_coordinates() -> None:
    open_ = [inc("1", "粤B·12345 白色轿车在滨河大道蛇形驾驶", "traffic", None, None)]
    cand = inc("2", "A white car plate 粤B12345 weaving on Binhe Avenue", "traffic", None, None, minutes=6)
    matches = find_duplicates(cand, open_, **LIMITS)
    assert matches and any("same plate: 粤B12345" in e for e in matches[0].evidence)


def test_best_match_first() -> None:
    open_ = [inc("a", "车公庙地铁站C出口有人晕倒", "medical", 22.5352, 114.0262, minutes=-20),
             inc("b", "车公庙地铁站C出口有个老人晕倒了叫不醒", "medical", 22.5352, 114.0262, minutes=-2)]
    cand = inc("c", "车公庙地铁站C出口一个老人晕倒叫不醒", "medical", 22.5353, 114.0263)
    matches = find_duplicates(cand, open_, **LIMITS)
    assert next(m.incident_id for m in matches) == "b"
    assert matches == sorted(matches, key=lambda m: m.score, reverse=True)


def test_naive_datetime_is_refused_with_a_clear_message() -> None:
    cand = {"id": "x", "text": "t", "category": "fire", "lat": 22.5, "lon": 114.0,
            "created_at": dt.datetime(2026, 5, 1, 12, 0)}
    with pytest.raises(ValueError, match="timezone-aware"):
        find_duplicates(cand, [inc("1", "t", "fire", 22.5, 114.0)], **LIMITS)


def test_helpers() -> None:
    assert 1100 < haversine_m(22.5, 114.0, 22.51, 114.0) < 1120
    assert text_similarity("深南大道着火了", "深南大道起火了") > 0.3
    assert text_similarity("a fire on Shennan Avenue", "fire on Shennan Avenue now") > 0.5
    assert text_similarity("抢劫", "Fire on the 8th floor") == 0.0


def test_cached_text_features_give_the_same_answer() -> None:
    """Features of open incidents are cached; a second search (cache hits) and a text too long to be
    cached score exactly like the first."""
    from analytics import duplicates

    open_ = [inc("a", "车公庙地铁站C出口有人晕倒", "medical", 22.5352, 114.0262, minutes=-20),
             inc("b", "车公庙地铁站C出口有个老人晕倒了叫不醒 粤B·12345", "medical", 22.5352, 114.0262, minutes=-2)]
    cand = inc("c", "车公庙地铁站C出口一个老人晕倒叫不醒 粤B12345", "medical", 22.5353, 114.0263)
    duplicates._cached_features.cache_clear()
    first = find_duplicates(cand, open_, **LIMITS)
    assert duplicates._cached_features.cache_info().currsize >= 3
    assert find_duplicates(cand, open_, **LIMITS) == first
    filler = " 有人" * duplicates.FEATURE_CACHE_MAX_CHARS
    long_open = [{**o, "text": o["text"] + filler} for o in open_]
    long_cand = {**cand, "text": cand["text"] + filler}
    size = duplicates._cached_features.cache_info().currsize
    assert [m.incident_id for m in find_duplicates(long_cand, long_open, **LIMITS)][:1] == ["b"]
    assert duplicates._cached_features.cache_info().currsize == size  # long texts are not kept


def test_feature_cache_is_kept_per_rule_set(tmp_path: Path) -> None:
    """Two apps with different gazetteers in one process: the cached features of a text made with
    one app's rules are never used for the other's (the cache is keyed by the rule set)."""
    from analytics import rules

    without = tmp_path / "gazetteer.yaml"
    lines = rules.DEFAULT_GAZETTEER.read_text(encoding="utf-8").splitlines(keepends=True)
    without.write_text("".join(ln for ln in lines if "name: 上沙村," not in ln), encoding="utf-8")
    other = rules.RuleBook(None, str(without)).current
    assert other.gazetteer.get("上沙村") is None
    open_ = [inc("a", "上沙村东区菜市场后面有两个人在打架", "public_order", None, None, minutes=-5)]
    cand = inc("c", "上沙村东区菜市场那里有人打架", "public_order", None, None)

    def places(rs: rules.RuleSet | None) -> list[str]:
        return [e for m in find_duplicates(cand, open_, **LIMITS, rules=rs) for e in m.evidence
                if e.startswith("same place")]

    shipped = places(None)
    assert shipped and "上沙村" in shipped[0]
    assert not any("上沙村" in e for e in places(other))
    assert places(None) == shipped  # and back again: the other rules' features did not replace these
