"""Scorers bound to an app's :class:`~analytics.rules.RuleBook`.

The services (dispatch, radio, calls) take plain ``triage_fn`` / ``duplicates_fn`` callables; these
wrap the library functions so that each call reads ``book.current`` when it runs, so a reload takes
effect at once and each app scores with its own rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from analytics.duplicates import DuplicateMatch, find_duplicates
from analytics.rules import RuleBook
from analytics.triage import Triage, triage


def triage_with(book: RuleBook) -> Callable[..., Triage]:
    """``triage`` with the book's rules in force at call time."""

    def scored(text: str, **kwargs: Any) -> Triage:
        return triage(text, rules=book.current, **kwargs)

    return scored


def duplicates_with(book: RuleBook) -> Callable[..., list[DuplicateMatch]]:
    """``find_duplicates`` with the book's rules (its gazetteer names the places) at call time."""

    def found(candidate: Mapping[str, Any], open_incidents: Sequence[Mapping[str, Any]],
              **kwargs: Any) -> list[DuplicateMatch]:
        return find_duplicates(candidate, open_incidents, rules=book.current, **kwargs)

    return found
