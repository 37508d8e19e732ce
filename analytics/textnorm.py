"""Text normalisation, language guess and segmentation shared by extraction and duplicate matching.

Normalisation is strictly one character in, one character out, so every span found in the
normalised text is also the span of the same words in the original text (reasons quote it).
Chinese segmentation is jieba's; it is initialised once, lazily, because its dictionary load
takes about a second.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence

import jieba

_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space
_TABLE = str.maketrans(_FULLWIDTH)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Characters that occur in written Cantonese and almost never in Mandarin prose.
_YUE_MARKERS = re.compile(r"[咗喺嘢冇佢哋嚟揸啲嘅唔噉嗰乜咩攞俾]")
_EN_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:[.:]\d+)?")

_jieba_lock = threading.Lock()
_jieba_ready = False

Token = tuple[str, int, int]


def normalize(text: str) -> str:
    """Full-width ASCII to half-width; the result has exactly the length of ``text``."""
    return text.translate(_TABLE)


def detect_lang(text: str) -> str:
    """Guess ``zh``, ``yue`` or ``en`` from the script and Cantonese-only characters."""
    cjk = len(_CJK.findall(text))
    if cjk == 0:
        return "en"
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if cjk * 2 < latin:
        return "en"
    return "yue" if _YUE_MARKERS.search(text) else "zh"


def _ensure_jieba() -> None:
    global _jieba_ready
    if _jieba_ready:
        return
    with _jieba_lock:
        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba_ready = True


def add_words(words: Sequence[str]) -> None:
    """Teach the segmenter place names and other domain words so they stay whole tokens."""
    _ensure_jieba()
    for word in words:
        if word and _CJK.search(word):
            jieba.add_word(word, freq=20000)


def tokenize(text: str, lang: str) -> list[Token]:
    """Word tokens with character offsets: jieba for Chinese, a word regex for English."""
    if lang == "en":
        return [(m.group(0), m.start(), m.end()) for m in _EN_TOKEN.finditer(text)]
    _ensure_jieba()
    return [(w, s, e) for w, s, e in jieba.tokenize(text) if not w.isspace()]


def words(text: str, lang: str | None = None) -> list[str]:
    """Lower-cased content tokens (no punctuation), for similarity measures."""
    lang = lang or detect_lang(text)
    out = []
    for w, _s, _e in tokenize(normalize(text), lang):
        w = w.lower()
        if any(ch.isalnum() for ch in w):
            out.append(w)
    return out
