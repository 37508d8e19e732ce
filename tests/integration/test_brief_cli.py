"""`jingyun brief` on embedded defaults: the same brief as GET /api/analysis/brief (web.api.intel.assemble_brief),
written as HTML with its accountability section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_brief_command_writes_the_days_brief(tmp_path: Path) -> None:
    out = tmp_path / "brief.html"
    done = subprocess.run([sys.executable, "-m", "web.cli", "brief", "--date", "2026-05-01", "--out", str(out),
                           "--data-dir", str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "brief for 2026-05-01: 0 incidents" in done.stdout + done.stderr
    html = out.read_text(encoding="utf-8")
    assert "Hotspots" in html and "Accountability (machine suggestions accepted vs overridden)" in html
