"""Text after Whisper: Chinese script conversion (OpenCC) and the repetition-loop guard."""

from __future__ import annotations

import functools
import re
import zlib

SCRIPTS = ("simplified", "traditional")
CHINESE_LANGUAGES = frozenset({"zh", "yue"})
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PUNCT_ONLY = re.compile(r"^[\W_]*$", re.UNICODE)


@functools.lru_cache(maxsize=2)
def _converter(config: str) -> object:
    import opencc

    return opencc.OpenCC(config)


def to_script(text: str, script: str) -> str:
    """Convert Chinese text to ``simplified`` (t2s) or ``traditional`` (s2t) characters."""
    if script not in SCRIPTS:
        raise ValueError(f"unknown script {script!r}; accepted: {', '.join(SCRIPTS)}")
    if not text or not _CJK.search(text):
        return text
    conv = _converter("t2s" if script == "simplified" else "s2t")
    return str(conv.convert(text))  # type: ignore[attr-defined]


def compression_ratio(text: str) -> float:
    """Whisper's loop detector: highly repetitive text compresses very well."""
    data = text.encode("utf-8")
    if not data:
        return 0.0
    return len(data) / len(zlib.compress(data))


def units(text: str) -> list[str]:
    """Words for spaced scripts; single characters for CJK (each counts as one word)."""
    out: list[str] = []
    for token in text.split():
        if _CJK.search(token):
            out.extend(ch for ch in token if not _PUNCT_ONLY.match(ch))
        elif not _PUNCT_ONLY.match(token):
            out.append(token)
    return out


def count_words(text: str) -> int:
    """Words in ``text``; each CJK character counts as one, punctuation counts zero."""
    return len(units(text))


def collapse_repeats(text: str, max_repeats: int = 3, max_ngram: int = 8) -> tuple[str, bool]:
    """Cut a phrase repeated more than ``max_repeats`` times in a row down to one occurrence.

    Whisper, stuck in a decoding loop, emits "thank you thank you thank you ..." or one CJK
    phrase many times; the first occurrence is what was said. Returns (text, changed).
    """
    cjk = bool(_CJK.search(text))
    tokens = list(text) if cjk else text.split()
    changed = False
    i = 0
    out: list[str] = []
    while i < len(tokens):
        best_n, best_reps = 0, 1
        for n in range(1, max_ngram + 1):
            if i + 2 * n > len(tokens):
                break
            gram = tokens[i:i + n]
            reps = 1
            while tokens[i + reps * n:i + (reps + 1) * n] == gram:
                reps += 1
            if reps > max_repeats and reps * n > best_reps * best_n:
                best_n, best_reps = n, reps
        if best_n:
            out.extend(tokens[i:i + best_n])
            i += best_n * best_reps
            changed = True
        else:
            out.append(tokens[i])
            i += 1
    joined = "".join(out) if cjk else " ".join(out)
    return joined, changed


def is_repeated_whole(text: str) -> bool:
    """The whole text is one phrase said two or more times ("换一首歌换一首歌"): a likely decoding loop."""
    compact = re.sub(r"[\W_]+", "", text.lower())
    n = len(compact)
    for size in range(1, n // 2 + 1):
        if n % size == 0 and compact[:size] * (n // size) == compact:
            return True
    return False


def is_empty_text(text: str) -> bool:
    """Nothing but punctuation or whitespace (". . . ." from Whisper on static)."""
    return not text or bool(_PUNCT_ONLY.match(text.replace(" ", "")))


_TERM_SPLIT = re.compile(r"[,，、;；|/\n]+")
# An echo: at least two hotwords and at most a quarter of the text besides them, or three or more
# hotwords and at most half (three place names in one short message, in list order, is the prompt).
ECHO_REST_SHARE = ((2, 0.25), (3, 0.5))
ECHO_PROMPT_SIMILARITY = 0.75


def _squash(text: str) -> str:
    """Letters, digits and CJK characters only, case-folded: how a prompt and a text are compared."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def echoes_prompt(text: str, hotwords: str | None, initial_prompt: str | None = None) -> bool:
    """Whether ``text`` is (mostly) the hotword list or the initial prompt said back.

    On barely intelligible audio Whisper may "transcribe" the text it was primed with: two or more
    of the hotwords with little else, or the initial prompt nearly verbatim. Such a result is not
    evidence of speech. A single hotword alone is not treated as an echo (an officer may say just
    the place name)."""
    squashed = _squash(text)
    if not squashed:
        return False
    if hotwords:
        terms = sorted({t for t in (_squash(p) for p in _TERM_SPLIT.split(hotwords)) if t}, key=len, reverse=True)
        rest, found = squashed, 0
        for term in terms:
            if term in rest:
                found += 1
                rest = rest.replace(term, "")
        if any(found >= n and len(rest) <= share * len(squashed) for n, share in ECHO_REST_SHARE):
            return True
    if initial_prompt:
        import difflib

        prompt = _squash(initial_prompt)
        if prompt and len(squashed) >= 0.5 * len(prompt):
            ratio = difflib.SequenceMatcher(None, squashed, prompt, autojunk=False).ratio()
            if ratio >= ECHO_PROMPT_SIMILARITY:
                return True
    return False
