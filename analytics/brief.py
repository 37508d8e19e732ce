"""The daily brief as one self-contained HTML page: inline SVG charts, no scripts, no network."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#1b1f24;max-width:1100px}
h1{margin:0 0 4px}h2{font-size:1.05rem;margin:24px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;margin-bottom:16px}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #ccd;border-radius:8px;padding:10px 16px;min-width:110px}
.card .v{font-size:1.8rem;font-weight:700}.card .k{color:#555}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:8px 24px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee}
.spike td{background:#fff3f0}.empty{color:#777}svg text{font-size:11px;fill:#333}
@media print{body{margin:0}}
"""
_LEVEL_COLOURS = {"P1": "#c62828", "P2": "#ef6c00", "P3": "#1565c0", "P4": "#607d8b"}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def bar_chart(pairs: Sequence[tuple[str, int]], *, width: int = 480, colour: str = "#1565c0",
              colours: Mapping[str, str] | None = None, title: str = "") -> str:
    """Horizontal bar chart as an SVG element string (labels escaped)."""
    if not pairs:
        return '<p class="empty">—</p>'
    row, label_w = 22, 150
    height = row * len(pairs) + 8
    top = max(1, max(n for _k, n in pairs))
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, n) in enumerate(pairs):
        y = 4 + i * row
        w = (width - label_w - 50) * n / top
        fill = (colours or {}).get(label, colour)
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{_e(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{fill}">'
                     f"<title>{_e(label)}: {n}</title></rect>"
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hour_chart(hours: Sequence[int], *, width: int = 480, height: int = 140, title: str = "") -> str:
    """24 vertical bars, one per local hour."""
    top = max(1, max(hours) if hours else 1)
    bar_w = (width - 30) / 24
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height + 20}" '
             f'viewBox="0 0 {width} {height + 20}" xmlns="http://www.w3.org/2000/svg">']
    for h, n in enumerate(hours):
        bh = (height - 10) * n / top
        x = 20 + h * bar_w
        parts.append(f'<rect x="{x:.1f}" y="{height - bh:.1f}" width="{bar_w - 2:.1f}" height="{bh:.1f}" '
                     f'fill="#455a64"><title>{h:02d}:00 — {n}</title></rect>')
        if h % 3 == 0:
            parts.append(f'<text x="{x:.1f}" y="{height + 14}">{h}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hotspot_map(spots: Sequence[Mapping[str, Any]], *, width: int = 480, height: int = 320, title: str = "") -> str:
    """Hotspot centres as circles sized by count, on a lat/lon frame around them."""
    if not spots:
        return '<p class="empty">—</p>'
    lats = [s["lat"] for s in spots]
    lons = [s["lon"] for s in spots]
    pad = 0.01
    lat0, lat1 = min(lats) - pad, max(lats) + pad
    lon0, lon1 = min(lons) - pad, max(lons) + pad
    top = max(s["count"] for s in spots)
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
             f'<rect width="{width}" height="{height}" fill="#f5f7fa" stroke="#ccd"/>']
    for s in spots:
        x = 10 + (width - 20) * (s["lon"] - lon0) / (lon1 - lon0)
        y = 10 + (height - 20) * (lat1 - s["lat"]) / (lat1 - lat0)
        r = 6 + 18 * s["count"] / top
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="#c62828" fill-opacity="0.45">'
                     f'<title>{_e(s["label"])}: {s["count"]}</title></circle>'
                     f'<text x="{x + r + 2:.1f}" y="{y + 4:.1f}">{_e(s["label"])} ({s["count"]})</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], *, cls: str = "") -> str:
    if not rows:
        return '<p class="empty">—</p>'
    head = "".join(f"<th>{_e(label)}</th>" for _k, label in columns)
    body = []
    for r in rows:
        cells = []
        for key, _label in columns:
            v = r.get(key)
            if isinstance(v, dict):
                v = ", ".join(f"{k} {n}" for k, n in v.items())
            cells.append(f"<td>{_e(v)}</td>")
        body.append(f'<tr class="{cls}">' + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def accountability_html(section: Mapping[str, Any] | None) -> str:
    """The AI accountability section: acceptance/override per level and category (column names in zh and
    en), the outcomes of accepted vs overridden suggestions, and what could not be counted."""
    if not section or not section.get("incidents"):
        return '<p class="empty">—</p>'
    zh, en = (dict(section["columns"][lang]) for lang in ("zh", "en"))
    columns = [(key, f"{zh[key]} {en[key]}") for key in en]
    labels = section.get("outcome_labels") or {}

    def outcome_list(counts: Mapping[str, int]) -> str:
        return ", ".join(f"{labels.get(c, {}).get('zh', c)} {c} {n}" for c, n in counts.items()) or "—"

    outcome_rows = []
    for what, title in (("levels", "定级 level"), ("units", "派警单位 unit")):
        by = section["outcomes"].get(what) or {}
        for verdict, name in (("accepted", "采纳 accepted"), ("overridden", "改动 overridden")):
            outcome_rows.append({"what": title, "verdict": name, "outcomes": outcome_list(by.get(verdict) or {}),
                                 "open": (by.get("open") or {}).get(verdict, 0)})
    not_counted = [{"reason": k, "n": v} for k, v in (section.get("not_counted") or {}).items()]
    return (_table(section.get("rows") or [], columns)
            + "<h3>按类别 By category</h3>" + _table(section.get("by_category") or [], columns)
            + "<h3>处警结果 Outcomes</h3>"
            + _table(outcome_rows, [("what", "建议 suggestion"), ("verdict", ""), ("outcomes", "结果 outcomes"),
                                    ("open", "未结 open")])
            + ("<h3>未计入 Not counted</h3>" + _table(not_counted, [("reason", "原因 reason"), ("n", "数量 n")])
               if not_counted else ""))


def render_html(brief: Mapping[str, Any]) -> str:
    """The whole brief page."""
    date = brief.get("date", "")
    cards = [("警情总数 Incidents", brief.get("total", 0)), ("P1 紧急", brief.get("p1", 0)),
             ("热点 Hotspots", len(brief.get("hotspots", []))), ("异常 Spikes", len(brief.get("spikes", [])))]
    levels = sorted((brief.get("by_level") or {}).items())
    sections = [
        ("按等级 By level", bar_chart(levels, colours=_LEVEL_COLOURS, title="by level")),
        ("按类别 By category", bar_chart(list((brief.get("by_category") or {}).items()), title="by category")),
        ("按小时 By hour", hour_chart(brief.get("by_hour") or [0] * 24, title="by hour")),
        ("按区域 By area", bar_chart(list((brief.get("by_area") or {}).items())[:15], colour="#2e7d32",
                                   title="by area")),
        ("热点 Hotspots", hotspot_map(brief.get("hotspots") or [], title="hotspots")
         + _table(brief.get("hotspots") or [], [("label", "place"), ("count", "incidents"),
                                                ("radius_m", "radius m"), ("categories", "categories")])),
        ("异常增长 Spikes (z ≥ threshold vs rolling baseline)",
         _table(brief.get("spikes") or [], [("key", "category"), ("count", "today"),
                                            ("baseline_mean", "baseline mean"), ("baseline_std", "baseline std"),
                                            ("z", "z")], cls="spike")),
        ("重复地点 Repeat locations", _table(brief.get("repeat_locations") or [],
                                          [("location", "place"), ("count", "incidents"), ("days", "days"),
                                           ("last", "last"), ("categories", "categories")])),
        ("AI 问责 Accountability (machine suggestions accepted vs overridden)",
         accountability_html(brief.get("accountability"))),
    ]
    baseline = brief.get("baseline") or {}
    note = (f"基线 baseline: {baseline.get('days', '?')} days, {baseline.get('incidents', 0)} incidents"
            + ("" if baseline.get("complete", True) else " — too little history for spike detection"))
    out = ["<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
           f"<title>每日简报 Daily brief {_e(date)}</title><style>{_CSS}</style></head><body>",
           f"<h1>每日简报 Daily brief — {_e(date)}</h1>",
           f'<div class="meta">时区 {_e(brief.get("timezone", ""))} · generated {_e(brief.get("generated_at", ""))}'
           f" · {_e(note)}</div>",
           '<div class="cards">' + "".join(f'<div class="card"><div class="v">{_e(v)}</div>'
                                           f'<div class="k">{_e(k)}</div></div>' for k, v in cards) + "</div>",
           '<div class="grid">']
    for title, body in sections:
        out.append(f"<section><h2>{_e(title)}</h2>{body}</section>")
    out.append("</div></body></html>")
    return "\n".join(out)
