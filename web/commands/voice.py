"""`jingyun` sub-commands of the voice sub-system: ``model`` (prepare/check) and ``transcribe`` (a file)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from web.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(data_dir=getattr(args, "data_dir", None))


def cmd_model(args: argparse.Namespace) -> int:
    """Join/verify the configured model now (e.g. at deploy time) instead of at first start."""
    from voice.models import ModelError, check_model, resolve_model, verify_base

    settings = _settings(args)
    name = args.name or settings.voice.model
    cache = settings.data_dir / "models"
    try:
        info = resolve_model(name, cache)
        if name == "base":
            verify_base(cache)
    except ModelError as exc:
        print(f"jingyun model: {exc.message}\n  fix: {exc.fix}", file=sys.stderr)
        return 1
    ok, detail, _fix = check_model(name, cache)
    print(f"{detail}; ready at {info.path}" if ok else detail)
    return 0 if ok else 1


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Transcribe audio files with the configured model and print text, SRT, VTT or JSON."""
    import json

    from voice.audio import AudioError, decode_file
    from voice.engine import AsrEngine, DecodeOptions, transcribe_audio
    from voice.formats import render_transcription
    from voice.models import ModelError

    settings = _settings(args)
    voice = settings.voice
    if args.model:
        import dataclasses

        voice = dataclasses.replace(voice, model=args.model)
    try:
        engine = AsrEngine.load(voice, settings.data_dir / "models")
    except ModelError as exc:
        print(f"jingyun transcribe: {exc.message}\n  fix: {exc.fix}", file=sys.stderr)
        return 1
    language, note = engine.resolve_language(None if args.language in (None, "auto") else args.language)
    if note:
        print(f"note: {note}", file=sys.stderr)

    async def run() -> int:
        status = 0
        try:
            for path in args.files:
                try:
                    audio = decode_file(path.read_bytes(), voice.max_upload_seconds)
                except (OSError, AudioError) as exc:
                    print(f"jingyun transcribe: {path}: {exc}", file=sys.stderr)
                    status = 1
                    continue
                segments = await transcribe_audio(engine, audio, DecodeOptions(
                    language=language, initial_prompt=args.prompt, hotwords=args.hotwords,
                    script=args.script or voice.script))
                body = render_transcription(args.format, segments, duration=audio.size / 16000,
                                            language=language)[0]
                print(body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, indent=2))
        finally:
            await engine.close()
        return status

    return asyncio.run(run())


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this sub-system's commands to the `jingyun` parser."""
    p = sub.add_parser("model", help="prepare and verify the ASR model (joins the bundled base model once)")
    p.add_argument("name", nargs="?", help="base, tiny.en or a model directory (default JINGYUN_MODEL)")
    p.add_argument("--data-dir", type=Path, help="data directory (env JINGYUN_DATA_DIR, default ./data)")
    p.set_defaults(func=cmd_model)

    p = sub.add_parser("transcribe", help="transcribe audio files (WAV, FLAC, MP3, OGG) with the local model")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--model", help="base, tiny.en or a model directory (default JINGYUN_MODEL)")
    p.add_argument("--language", default="auto", help="auto (default) or a code such as zh, en")
    p.add_argument("--prompt", help="initial prompt: vocabulary and style to expect")
    p.add_argument("--hotwords", help="place names, plate formats, radio codes to favour")
    p.add_argument("--script", choices=["simplified", "traditional"], help="Chinese script of the output")
    p.add_argument("--format", default="text", choices=["text", "json", "verbose_json", "srt", "vtt"])
    p.add_argument("--data-dir", type=Path, help="data directory (env JINGYUN_DATA_DIR, default ./data)")
    p.set_defaults(func=cmd_transcribe)
