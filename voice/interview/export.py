"""Interview exports: plain text, JSON and a printable DOCX, each carrying the record's hashes.

A signed record's export states its ``record_sha256`` and ``text_sha256`` and where to verify
them; an unsigned one says DRAFT on every page, so a draft is never mistaken for the record.
Corrected lines are marked and the JSON carries every version (who, when, before, after).
"""

from __future__ import annotations

import io
import json
from typing import Any

ROLE_LABELS = {"interviewer": "Interviewer 询问人", "interviewee": "Interviewee 被询问人", "suspect": "Suspect 嫌疑人",
               "witness": "Witness 证人", "victim": "Victim 被害人", "complainant": "Complainant 报案人",
               "interpreter": "Interpreter 翻译", "lawyer": "Lawyer 律师", "guardian": "Guardian 监护人",
               "recorder": "Recorder 记录人", "other": "Other 其他"}


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--:--"
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _speaker(line: dict[str, Any]) -> str:
    role = ROLE_LABELS.get(line["speaker_role"], line["speaker_role"])
    return f"{role} ({line['speaker']})" if line.get("speaker") else role


def header_lines(record: dict[str, Any]) -> list[str]:
    sig = record.get("signature")
    out = [f"Interview record 询问笔录 — case 案件编号 {record['case_number']}",
           f"Interview id: {record['id']}"]
    if record.get("title"):
        out.append(f"Title 标题: {record['title']}")
    if record.get("location"):
        out.append(f"Location 地点: {record['location']}")
    out.append(f"Started 开始: {record['started_at']}   Ended 结束: {record.get('ended_at') or '-'}")
    out.append("Participants 参与人: " + "; ".join(f"{p['name']} ({ROLE_LABELS.get(p['role'], p['role'])})"
                                                 for p in record["participants"]))
    if sig:
        out += [f"Signed 签署: {record['signed_at']} by {record['signed_by']}",
                f"Record SHA-256: {sig['record_sha256']}",
                f"Text SHA-256: {sig['text_sha256']}"]
        out += [f"Audio SHA-256 ({a['id']}): {a['sha256']}" for a in sig.get("audio", [])]
        out.append(f"Verify 校验: GET /api/interviews/{record['id']}/verify")
    else:
        out.append("DRAFT 草稿 — not signed; this is not the record 未签署，非正式笔录")
    return out


def _line_text(line: dict[str, Any]) -> str:
    mark = " [corrected 已更正]" if line.get("version", 1) > 1 else ""
    return f"[{_clock(line.get('start'))}] {_speaker(line)}: {line['text']}{mark}"


def to_txt(record: dict[str, Any]) -> str:
    parts = header_lines(record) + [""] + [_line_text(ln) for ln in record["lines"]]
    return "\n".join(parts) + "\n"


def to_json(record: dict[str, Any], versions: list[dict[str, Any]], audio: list[dict[str, Any]]) -> str:
    doc = {"format": "jingyun-interview-export-v1", "record": record, "versions": versions, "audio": audio,
           "draft": record.get("state") != "signed"}
    return json.dumps(doc, ensure_ascii=False, indent=2)


def to_docx(record: dict[str, Any]) -> bytes:
    """A printable document; the hashes sit in the header block and in every page footer."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(11)  # type: ignore[attr-defined]
    doc.add_heading(f"询问笔录 Interview record — {record['case_number']}", level=1)
    for line in header_lines(record)[1:]:
        doc.add_paragraph(line)
    table = doc.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    hdr = table.rows[0].cells
    hdr[0].text, hdr[1].text, hdr[2].text = "Time 时间", "Speaker 发言人", "Text 内容"
    for ln in record["lines"]:
        cells = table.add_row().cells
        cells[0].text = _clock(ln.get("start"))
        cells[1].text = _speaker(ln)
        cells[2].text = ln["text"] + (" [corrected 已更正]" if ln.get("version", 1) > 1 else "")
    sig = record.get("signature")
    footer = doc.sections[0].footer.paragraphs[0]
    footer.text = (f"{record['case_number']} · record SHA-256 {sig['record_sha256']}" if sig
                   else f"{record['case_number']} · DRAFT 草稿 — not signed")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
