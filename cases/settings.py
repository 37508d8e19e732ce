"""Case and evidence settings, read by ``web.envparse`` like every other section (field metadata names the variable).

The evidence directory is not a setting of its own: it is ``DATA_DIR/evidence``, next to the database
it belongs with, so a backup of the data directory holds both.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.settings import setting


@dataclass(frozen=True)
class CaseSettings:
    evidence_max_bytes: int = setting(4 * 1024 ** 3, "JINGYUN_EVIDENCE_MAX_BYTES",
                                      "largest evidence file accepted, bytes (a larger upload gets 413 and nothing "
                                      "is kept); uploads are streamed to disk, so this is not held in memory",
                                      lo=1024, hi=1024 ** 4)
    deadlines_file: str = setting("", "JINGYUN_CASE_DEADLINES_FILE",
                                  "YAML table of how long a case file may stay with each holder before the process "
                                  "monitor shows it overdue (unset: the bundled cases/data/deadlines.yaml)")
