"""Schemathesis against /api/openapi.json of a real server process, with valid tokens.

Every documented operation gets a bounded number of generated requests (valid and invalid per
the schema, hypothesis-driven). Whatever is sent, the server must answer without a 5xx and with
its JSON error shape on 4xx. The server runs as ``python -m web.cli serve`` (SQLite, the shared
Redis under a private key prefix, no model), so a crash would show as a dead process.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.reliability.helpers import ServerProcess
from web.auth import issue_token

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(300)]

SECRET = "schemathesis-secret-" + "q" * 30
EXAMPLES = int(os.environ.get("JINGYUN_SCHEMATHESIS_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    proc = ServerProcess({"REDIS_URL": redis_url, "JINGYUN_SECRET": SECRET, "JINGYUN_DATA_DIR": str(tmp / "data"),
                          "JINGYUN_REDIS_PREFIX": f"jyst:{uuid.uuid4().hex[:8]}:", "JINGYUN_LOG_JSON": "1"},
                         tmp / "server.log")
    proc.start()
    try:
        asyncio.run(proc.wait_ready())
        yield proc
    finally:
        proc.kill(15)


def _token_for(path: str) -> str:
    role = "kiosk" if path.startswith("/api/kiosk/") and path != "/api/kiosk/templates" else "admin"
    return issue_token(SECRET, role, ttl=3600)


def _fuzz(op: Any, base: str, failures: list[str], calls: list[int]) -> None:
    """Bounded hypothesis run of one operation; problems are collected, not raised."""
    import requests
    from hypothesis import HealthCheck, Phase, given, settings

    headers = {"Authorization": f"Bearer {_token_for(op.path)}"}
    name = f"{op.method.upper()} {op.path}"

    @given(case=op.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def probe(case: Any) -> None:
        calls.append(1)
        try:
            resp = case.call(base_url=base, headers=headers, timeout=30)
        except requests.RequestException as exc:
            failures.append(f"{name}: no answer ({exc.__class__.__name__})")
            return
        if resp.status_code >= 500 and resp.status_code != 503:  # 503: the model is off here, and says so
            failures.append(f"{name}: {resp.status_code} {resp.text[:200]} for {case.as_curl_command()[:400]}")
        elif 400 <= resp.status_code < 500 and resp.headers.get("Content-Type", "").startswith("application/json"):
            body = resp.json()
            if not (isinstance(body, dict) and isinstance(body.get("error"), dict) and body["error"].get("message")):
                failures.append(f"{name}: {resp.status_code} without an error message")

    probe()


def test_openapi_operations_never_answer_5xx(server: ServerProcess) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{server.base}/api/openapi.json",
                                           headers={"Authorization": f"Bearer {_token_for('/')}"})
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        _fuzz(cast(Any, result).ok(), server.base, failures, calls)
    assert operations >= 20, f"only {operations} operations documented"
    assert server.proc is not None and server.proc.poll() is None, "the server died: " + server.tail()
    unique = sorted(set(f.split(" for ")[0] for f in failures))
    assert not failures, f"{len(failures)} of {len(calls)} generated requests failed:\n" + "\n".join(unique[:40])


def test_log_has_no_unhandled_errors_left(server: ServerProcess) -> None:
    """Runs after the fuzzing: an unhandled exception is a 500 somewhere, even if retried away."""
    log = Path(server.log_path).read_text(errors="replace")
    assert "unhandled error" not in log, [line[:300] for line in log.splitlines() if "unhandled error" in line][:5]
