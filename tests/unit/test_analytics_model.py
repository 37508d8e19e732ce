"""The learned n-gram model: the committed weights are what the training script builds from the corpus,
its dev-split figures hold, it explains itself with spans of the text, and it never lowers an urgent level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics import ngram_model, textnorm, train_model
from analytics.triage import triage

pytestmark = pytest.mark.skipif(not ngram_model.DEFAULT_MODEL.exists() or not all(
    p.exists() for p in train_model.CORPUS_FILES), reason="needs analytics/corpus/ and the committed model")


def test_committed_model_is_what_the_script_builds(tmp_path: Path) -> None:
    fresh = tmp_path / "model.npz"
    meta = train_model.build(out=fresh)
    committed = ngram_model.load()
    assert train_model.same_model(ngram_model.load(fresh), committed), (
        "analytics/data/triage_model.npz is stale: run `python -m analytics.train_model` and commit it")
    assert committed.meta["dev"] == meta["dev"]


def test_dev_split_figures_hold() -> None:
    model = ngram_model.load()
    _train, dev = train_model.split(train_model.load_corpus())
    assert len(dev) >= 250, "the dev split is a fifth of a corpus of at least 1,500 reports"
    figures = train_model.model_figures(model, dev)
    assert figures == model.meta["dev"]
    # the model alone, before the rules: what it must at least do to be worth combining
    assert figures["level_accuracy"] >= 0.80
    assert figures["p1_recall"] >= 0.85


def test_dev_split_is_never_trained_on() -> None:
    records = train_model.load_corpus()
    train, dev = train_model.split(records)
    assert {r["id"] for r in train}.isdisjoint({r["id"] for r in dev})
    assert len(train) + len(dev) == len(records)
    assert train_model.model_figures(ngram_model.load(), dev)["cases"] == len(dev)


@pytest.mark.parametrize("text", [
    "有个阿伯喺楼梯底流紧血，叫极都唔应",
    "A man is lying in the car park bleeding from his head",
    "请问港澳通行证续签要带什么",
])
def test_evidence_quotes_the_text(text: str) -> None:
    model = ngram_model.load()
    norm = textnorm.normalize(text)
    level, category = model.predict(norm, evidence=3)
    assert abs(sum(level.probs.values()) - 1.0) < 1e-4 and abs(sum(category.probs.values()) - 1.0) < 1e-4
    assert level.evidence, "a prediction names the words behind it"
    for feature, start, end, pull in level.evidence + category.evidence:
        assert pull > 0
        quoted = text[start:end].lower()
        assert quoted and (feature.split(":", 1)[-1] == textnorm.normalize(quoted)
                           or textnorm.normalize(quoted) in feature)


def test_features_are_the_same_for_traditional_and_simplified() -> None:
    assert ngram_model.feature_set(textnorm.normalize("有人流緊血")) == ngram_model.feature_set(
        textnorm.normalize("有人流紧血"))


def test_model_never_lowers_an_urgent_level(shared_dir: Path) -> None:
    cases = [json.loads(line) for line in (shared_dir / "incidents" / "public.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    for case in cases:
        kw = {"lang": case.get("lang"), "source": case.get("source", "call"), "fields": case.get("fields")}
        alone = triage(case["text"], model=None, **kw)
        both = triage(case["text"], **kw)
        if alone.level in ("P1", "P2"):
            assert int(both.level[1]) <= int(alone.level[1]), case["id"]


def test_model_reasons_name_their_evidence() -> None:
    # No rule knows this phrasing of an unconscious person; the model's reason quotes the text.
    text = "我老公瞓咗喺地下，点样拍都冇动静，面都青晒"
    result = triage(text)
    model_reasons = [r for r in result.reasons if r.source == "model"]
    for r in model_reasons:
        assert r.start < 0 or text[r.start:r.end] == r.evidence
    assert result.level in ("P1", "P2")


def test_missing_weights_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ngram_model.ModelError, match="train_model"):
        ngram_model.load(tmp_path / "absent.npz")


@pytest.mark.parametrize("text", [
    "Unit 7, copy, en route",
    "收到，正在前往",
    "10-4",
    "Car 2 to control, radio check",
    "ok cool thanks",
    "佢话冇事喇，收线",
    "Unit 9 to control, on my way to the depot",
])
def test_routine_radio_traffic_is_not_an_incident(text: str) -> None:
    """Content-free text (acknowledgements, radio checks; phrasings not in the training files) stays
    routine: the radio service suggests an incident for any category but ``other``."""
    result = triage(text, source="radio")
    assert result.category == "other", result.facts["model"]
    assert result.level in ("P3", "P4"), result.facts["model"]
    assert result.uncertain, "nothing recognised: a person may still glance at it"
