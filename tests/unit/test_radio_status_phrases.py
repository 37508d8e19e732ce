"""Spoken status phrases in English and Chinese: matches, boundaries, negations, futures, the table file."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.status_phrases import PhraseTableError, find_statuses, load_table, match_status


@pytest.mark.parametrize(("text", "status", "evidence"), [
    ("Dispatch, this is unit seven. We are on scene, requesting one ambulance.", "on_scene", "on scene"),
    ("Unit 3, copy that. Show me en route, estimated arrival five minutes.", "en_route", "en route"),
    ("Unit 12, 10-8.", "available", "10-8"),
    ("unit twelve ten eight", "available", "ten eight"),
    ("Twelve is 10-23 at Futian Road", "on_scene", "10-23"),
    ("Twelve, 10 23", "on_scene", "10 23"),
    ("Twelve, 10–23", "on_scene", "10–23"),  # an en dash, as some transcripts write it
    ("Unit 4 back in service", "available", "back in service"),
    ("Unit 4 out of service, vehicle problem", "out_of_service", "out of service"),
    ("七号单位已到现场，请求派一辆救护车。", "on_scene", "已到现场"),
    ("十二号车到达现场", "on_scene", "到达现场"),
    ("三号车收到，正在赶往现场，预计五分钟到达。", "en_route", "正在赶往"),
    ("现场已处理完毕。", "available", "已处理完毕"),
    ("已处理完毕，恢复巡逻", "available", "恢复巡逻"),
    ("１０－８", "available", "１０－８"),  # full-width digits and dash
])
def test_statuses_found(text, status, evidence):
    m = match_status(text)
    assert m is not None, text
    assert m.status == status and m.evidence == evidence and text[m.start:m.end] == evidence


@pytest.mark.parametrize("text", [
    "Unit 12 responding to 10-80",  # "responding" matches, "10-80" must not look like 10-8
    "We are not on scene yet",
    "Unit 5 will be 10-8 in five minutes",
    "我们还没到达现场",
    "尚未处理完毕",
    "准备收队",
])
def test_negated_future_and_lookalikes(text):
    statuses = [m.status for m in find_statuses(text)]
    assert "available" not in statuses and "on_scene" not in statuses and "returning" not in statuses, statuses


def test_nothing_in_routine_traffic():
    for text in ("All units be advised, the suspect vehicle is a white van.", "Caller reports a house fire.",
                 "所有单位注意，嫌疑车辆是一辆白色面包车。", "Copy that", "onscreen sceney"):
        assert match_status(text) is None, text


def test_last_statement_wins_and_longest_phrase_at_a_position():
    m = match_status("Show me en route... correction, arrived on scene")
    assert m is not None and m.status == "on_scene" and m.phrase == "arrived on scene"
    assert [s.status for s in find_statuses("10-23, now 10-8")] == ["on_scene", "available"]


def test_table_errors_name_the_entry(tmp_path: Path):
    bad = tmp_path / "t.yaml"
    bad.write_text("phrases:\n  en:\n    parked: [parked]\n", encoding="utf-8")
    with pytest.raises(PhraseTableError, match=r"phrases\.en\.parked: unknown status; accepted: available"):
        load_table(bad)
    bad.write_text("phrases:\n  fr:\n    on_scene: [sur place]\n", encoding="utf-8")
    with pytest.raises(PhraseTableError, match="'fr' is not supported; accepted: en, zh"):
        load_table(bad)
    good = tmp_path / "g.yaml"
    good.write_text("phrases:\n  en:\n    on_scene: [code six]\nnegations:\n  en: [not]\n", encoding="utf-8")
    table = load_table(good)
    assert match_status("unit 9 code six", table=table).status == "on_scene"  # type: ignore[union-attr]
    assert match_status("unit 9 on scene", table=table) is None


def test_phrase_confidence_uses_the_words_that_spell_it():
    from voice.radio.service import phrase_confidence

    words = [{"word": "We", "probability": 0.9}, {"word": "are", "probability": 0.8},
             {"word": "on", "probability": 0.4}, {"word": "scene.", "probability": 0.6}]
    assert phrase_confidence("on scene", words, 0.99) == pytest.approx(0.5)
    zh = [{"word": "七号", "probability": 0.9}, {"word": "已到", "probability": 0.3},
          {"word": "现场", "probability": 0.7}]
    assert phrase_confidence("已到现场", zh, None) == pytest.approx(0.5)
    assert phrase_confidence("10-8", words, 0.42) == 0.42  # not spelled by the words: the transcript's own
