"""Exports: text, JSON and DOCX carry the hashes; drafts say DRAFT; corrections are marked."""

from __future__ import annotations

import io
import json

from docx import Document

from voice.interview import export

RECORD = {"id": "s1", "case_number": "FT-1", "title": "Theft", "location": "Room 2", "state": "signed",
          "participants": [{"name": "王", "role": "interviewer"}, {"name": "李", "role": "witness"}],
          "started_at": "2024-05-01T09:00:00.000Z", "ended_at": "2024-05-01T09:30:00.000Z",
          "signed_at": "2024-05-01T09:31:00.000Z", "signed_by": "officer-wang",
          "signature": {"record_sha256": "ab" * 32, "text_sha256": "cd" * 32,
                        "audio": [{"id": "r1", "sha256": "ef" * 32}]},
          "lines": [{"seq": 1, "speaker_role": "interviewer", "speaker": None, "text": "请说明情况。", "start": 0.0,
                     "version": 1},
                    {"seq": 2, "speaker_role": "witness", "speaker": "李", "text": "我看到他往南跑了。",
                     "start": 3725.0, "version": 2}]}


def test_text_export():
    txt = export.to_txt(RECORD)
    assert "Record SHA-256: " + "ab" * 32 in txt and "Text SHA-256: " + "cd" * 32 in txt and "ef" * 32 in txt
    assert "[01:02:05] Witness 证人 (李): 我看到他往南跑了。 [corrected 已更正]" in txt
    assert "[00:00:00] Interviewer 询问人: 请说明情况。\n" in txt and "DRAFT" not in txt
    draft = export.to_txt({**RECORD, "state": "open", "signature": None})
    assert "DRAFT" in draft and "SHA-256" not in draft


def test_json_export():
    doc = json.loads(export.to_json(RECORD, [{"line_id": "l2", "version": 2, "before": "北", "after": "南"}], []))
    assert doc["record"]["signature"]["record_sha256"] == "ab" * 32 and doc["draft"] is False
    assert doc["versions"][0]["before"] == "北"


def test_docx_export():
    document = Document(io.BytesIO(export.to_docx(RECORD)))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "ab" * 32 in body and "FT-1" in body
    rows = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert rows[2] == ["01:02:05", "Witness 证人 (李)", "我看到他往南跑了。 [corrected 已更正]"]
    assert "ab" * 32 in document.sections[0].footer.paragraphs[0].text
    draft = Document(io.BytesIO(export.to_docx({**RECORD, "signature": None})))
    assert "DRAFT" in draft.sections[0].footer.paragraphs[0].text
