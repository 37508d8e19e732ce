"""What every dispatch module works with, built once per process by :class:`dispatch.service.DispatchService`.

The modules (``incidents``, ``duplicates``, ``units``, ``orders``, ``expiry``, ``alerts``) are plain
async functions taking a :class:`Context` first; they share nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cases.outcomes import OutcomeTable
from dispatch.bus import Bus
from dispatch.console import Console
from dispatch.recommend import CapabilityTable
from dispatch.settings import DispatchSettings
from dispatch.store import Store

TriageFn = Callable[..., Any]
DuplicatesFn = Callable[..., Any]


@dataclass(frozen=True)
class Context:
    store: Store                       # SQL: transactions with audit, rows, events
    console: Console                   # live console events
    bus: Bus                           # Redis: order Streams, deadlines, locks, counters
    settings: DispatchSettings
    prefix: str                        # Redis key prefix
    table: CapabilityTable             # capabilities each category requires, unit types
    executor: Executor | None          # triage and duplicate search run here, off the event loop
    intel_settings: Any                # duplicate search bounds (analytics settings), or None
    triage: TriageFn | None            # analytics.triage.triage, or None: incidents stay unscored
    find_duplicates: DuplicatesFn | None
    outcomes: OutcomeTable             # the codes an incident may be closed with (cases/data/outcomes.yaml)
    photos_dir: Path | None            # where field-note photos are kept (DATA_DIR/field-photos); None: none
