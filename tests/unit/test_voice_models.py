"""Model names to local directories: the base wheel join, tiny.en, operator directories, doctor checks."""

from __future__ import annotations

import hashlib
import multiprocessing
import shutil
from pathlib import Path

import pytest

from voice.models import BASE_SHA256, ModelError, check_model, join_base, resolve_model, verify_base


def _join(cache: str) -> str:
    return str(join_base(Path(cache)))


def test_two_processes_joining_base_together_both_get_the_verified_file(tmp_path: Path) -> None:
    cache = tmp_path / "models"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        paths = pool.map(_join, [str(cache), str(cache)])
    assert paths[0] == paths[1]
    model_dir = Path(paths[0])
    assert verify_base(cache) == BASE_SHA256
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "model.bin", "tokenizer.json",
                                                         "vocabulary.txt"]  # no temp files left behind
    info = resolve_model("base", cache)
    assert info.multilingual and info.path == model_dir.resolve()
    ok, detail, fix = check_model("base", cache)
    assert ok and "joined" in detail and not fix


def test_truncated_join_is_reported_with_a_fix(tmp_path: Path) -> None:
    cache = tmp_path / "models"
    target = cache / "base"
    target.mkdir(parents=True)
    (target / "model.bin").write_bytes(b"\0" * 1000)
    ok, detail, fix = check_model("base", cache)
    assert not ok and "expected" in detail and "delete" in fix


def test_base_not_yet_joined_is_ok_for_doctor(tmp_path: Path) -> None:
    ok, detail, _ = check_model("base", tmp_path / "empty")
    assert ok and "first start" in detail
    assert not (tmp_path / "empty").exists()  # the check never writes


def test_tiny_en_comes_from_the_wheel(tmp_path: Path) -> None:
    info = resolve_model("tiny.en", tmp_path)
    assert not info.multilingual
    digest = hashlib.sha256((info.path / "model.bin").read_bytes()).hexdigest()
    assert digest == "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
    assert check_model("tiny.en", tmp_path)[0]


def test_a_local_directory_is_accepted(tmp_path: Path) -> None:
    src = resolve_model("tiny.en", tmp_path).path
    local = tmp_path / "my-model"
    shutil.copytree(src, local)
    ok, detail, _ = check_model(str(local), tmp_path)
    assert ok and str(local) in detail


def test_directory_without_tokenizer_is_refused_instead_of_fetching_one(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.bin").write_bytes(b"x")
    (broken / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"tokenizer\.json"):
        resolve_model(str(broken), tmp_path)


@pytest.mark.parametrize("name", ["large-v3", "Systran/faster-whisper-small"])
def test_hub_names_are_never_downloaded(tmp_path: Path, name: str) -> None:
    ok, detail, fix = check_model(name, tmp_path)
    assert not ok
    assert "local" in fix or "directory" in fix
    assert "does not exist" in detail or "never attempted" in detail


def test_cli_model_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from web.cli import main

    assert main(["model", "tiny.en", "--data-dir", str(tmp_path)]) == 0
    assert "tiny.en (English-only)" in capsys.readouterr().out
    assert main(["model", str(tmp_path / "nope"), "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "fix:" in err
