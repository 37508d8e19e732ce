"""Secrets never reach the logs: JINGYUN_SECRET, the Redis password, bearer tokens (header, query, form).

The real server runs as ``python -m web.cli serve`` on a private password-protected redis-server,
with debug logging, and is driven through good and bad requests, WebSockets with ``?token=``,
a form-token upload and a Redis outage (where connection errors are logged). Then its whole
output is searched for every secret and for each token's signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path

import aiohttp
import pytest

from tests.reliability.helpers import RedisProcess, ServerProcess
from web.auth import issue_token

pytestmark = [pytest.mark.redis, pytest.mark.slow]


async def test_no_secret_in_the_server_log(tmp_path: Path) -> None:
    password = "rpw-" + secrets.token_hex(12)
    secret = "js-" + secrets.token_urlsafe(40)
    redis = RedisProcess(tmp_path / "redis", password=password)
    redis.start()
    server = ServerProcess({"REDIS_URL": redis.url, "JINGYUN_SECRET": secret,
                            "JINGYUN_DATA_DIR": str(tmp_path / "data"), "JINGYUN_LOG_LEVEL": "DEBUG",
                            "JINGYUN_LOG_JSON": "1", "JINGYUN_REDIS_PREFIX": "jysec:"}, tmp_path / "server.log")
    tokens = {role: issue_token(secret, role, unit_id="U-1" if role == "officer" else None)
              for role in ("admin", "dispatcher", "officer", "service", "kiosk", "interviewer")}
    foreign = issue_token("x" * 40, "admin")
    server.start()
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession(server.base) as http:
            for tok in tokens.values():
                for path in ("/api/whoami", "/api/incidents", "/api/interviews", "/metrics"):
                    async with http.get(path, headers={"Authorization": f"Bearer {tok}"}) as r:
                        await r.read()
            async with http.get("/api/incidents", headers={"Authorization": f"Bearer {foreign}"}) as r:
                assert r.status == 401
            async with http.get("/api/incidents", headers={"Authorization": f"Bearer {tokens['admin']}x"}) as r:
                assert r.status == 401
            for tok in (tokens["officer"], tokens["dispatcher"], foreign):
                for path in ("/ws/unit", "/ws/console"):
                    with contextlib.suppress(aiohttp.WSServerHandshakeError):
                        ws = await http.ws_connect(f"{path}?token={tok}", headers={"Origin": "https://evil.example"})
                        await ws.close()
                    with contextlib.suppress(aiohttp.WSServerHandshakeError):
                        ws = await http.ws_connect(f"{path}?token={tok}")
                        await ws.receive(timeout=2)
                        await ws.close()
            form = aiohttp.FormData()
            form.add_field("key", tokens["service"])
            form.add_field("system", "1")
            form.add_field("talkgroup", "5")
            async with http.post("/api/call-upload", data=form) as r:
                await r.read()
            # A Redis outage makes the server log connection errors: they must not carry the URL's password.
            redis.stop()
            for _ in range(3):
                async with http.get("/readyz") as r:
                    await r.read()
                async with http.post("/api/incidents", json={"text": "fire at the market"},
                                     headers={"Authorization": f"Bearer {tokens['dispatcher']}"}) as r:
                    await r.read()
                await asyncio.sleep(0.5)
    finally:
        server.kill(15)
        redis.stop()
    log = server.log_path.read_text(errors="replace")
    assert "GET /api/incidents" in log or '"/api/incidents"' in log, "the log is empty: nothing was checked"
    assert f"127.0.0.1:{redis.port}" in log, "the Redis outage left no trace: the error paths were not exercised"
    leaks = [name for name, value in [("JINGYUN_SECRET", secret), ("redis password", password)] if value in log]
    for role, tok in [*tokens.items(), ("foreign", foreign)]:
        if tok in log or tok.rsplit(".", 1)[1] in log:
            leaks.append(f"{role} token")
    assert not leaks, f"secrets in the server log: {leaks}"
