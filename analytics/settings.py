"""Intelligence settings: read from the environment by ``web.envparse`` (field metadata names the variable)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IntelSettings:
    rules_path: str = field(default="", metadata={
        "env": "JINGYUN_RULES_PATH",
        "doc": "YAML file of triage rules (concepts, level rules, categories); unset: the rules shipped "
               "in analytics/data/rules.yaml. Reloaded by POST /api/admin/rules/reload"})
    gazetteer_path: str = field(default="", metadata={
        "env": "JINGYUN_GAZETTEER_PATH",
        "doc": "YAML gazetteer of Futian places with coordinates; unset: analytics/data/gazetteer.yaml"})
    duplicate_max_minutes: float = field(default=30.0, metadata={
        "env": "JINGYUN_DUPLICATE_MAX_MINUTES",
        "doc": "an open incident created at most this many minutes before a new one may be its duplicate",
        "lo": 1, "hi": 24 * 60})
    duplicate_max_meters: float = field(default=500.0, metadata={
        "env": "JINGYUN_DUPLICATE_MAX_METERS",
        "doc": "largest distance, metres, between two incidents that may be duplicates (when both have "
               "coordinates)", "lo": 10, "hi": 20_000})
    duplicate_min_similarity: float = field(default=0.55, metadata={
        "env": "JINGYUN_DUPLICATE_MIN_SIMILARITY",
        "doc": "smallest combined score (0-1, from time, distance, category and text) to link a duplicate",
        "lo": 0.05, "hi": 1.0})
    max_text_chars: int = field(default=4000, metadata={
        "env": "JINGYUN_MAX_TEXT_CHARS",
        "doc": "longest free text accepted from a kiosk report or draft, characters", "lo": 100, "hi": 100_000})
    kiosk_drafts_per_min: int = field(default=240, metadata={
        "env": "JINGYUN_KIOSK_DRAFTS_PER_MIN",
        "doc": "draft updates accepted per minute per kiosk address (a kiosk sends one per pause in typing)",
        "lo": 1, "hi": 100_000})
    baseline_days: int = field(default=28, metadata={
        "env": "JINGYUN_BASELINE_DAYS",
        "doc": "days of history forming the rolling baseline for spike detection", "lo": 7, "hi": 365})
    spike_z: float = field(default=3.0, metadata={
        "env": "JINGYUN_SPIKE_Z",
        "doc": "z-score above the rolling baseline at which a day's count is reported as a spike",
        "lo": 1.0, "hi": 10.0})
    hotspot_radius_m: float = field(default=300.0, metadata={
        "env": "JINGYUN_HOTSPOT_RADIUS_M",
        "doc": "DBSCAN neighbourhood radius for hotspots, metres", "lo": 20, "hi": 5000})
    hotspot_min_points: int = field(default=4, metadata={
        "env": "JINGYUN_HOTSPOT_MIN_POINTS",
        "doc": "incidents within the radius needed to form a hotspot", "lo": 2, "hi": 1000})
    repeat_location_min: int = field(default=3, metadata={
        "env": "JINGYUN_REPEAT_LOCATION_MIN",
        "doc": "incidents at one place within the baseline window that make it a repeat location",
        "lo": 2, "hi": 1000})
    timezone: str = field(default="Asia/Shanghai", metadata={
        "env": "JINGYUN_ANALYSIS_TZ",
        "doc": "time zone in which the daily analysis counts days and hours (IANA name)"})
