"""The cases sub-system as one object: the evidence bag and the case files over one journal.

Built once per server process (the web layer's cleanup context) or per command
(``jingyun evidence verify``); see :mod:`cases.evidence_store` and :mod:`cases.case_store`.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from cases.case_store import CaseStore
from cases.deadlines import CaseDeadlines
from cases.evidence_store import EvidenceStore, Resolver
from cases.journal import HeadRecorder, Journal

EVIDENCE_DIR = "evidence"


def evidence_dir(data_dir: Path) -> Path:
    """Where kept evidence files live: ``DATA_DIR/evidence/<id[:2]>/<id>``."""
    return Path(data_dir) / EVIDENCE_DIR


@dataclass(frozen=True)
class CaseService:
    evidence: EvidenceStore
    files: CaseStore

    @classmethod
    def create(cls, engine: AsyncEngine, data_dir: Path, *, max_bytes: int, deadlines: CaseDeadlines,
               exists: Resolver, record_head: HeadRecorder | None = None,
               executor: Executor | None = None) -> CaseService:
        journal = Journal(engine, record_head)
        ev = EvidenceStore(journal, evidence_dir(data_dir), max_bytes=max_bytes, exists=exists, executor=executor)
        return cls(evidence=ev, files=CaseStore(journal, ev, deadlines, exists))
