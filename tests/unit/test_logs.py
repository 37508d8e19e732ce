"""JSON log lines carry the request id and never the values of secret-looking fields."""

from __future__ import annotations

import json
import logging

from web.logs import JsonFormatter, request_id


def _line(**extra: object) -> dict[str, object]:
    record = logging.LogRecord("jingyun.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    for k, v in extra.items():
        setattr(record, k, v)
    return dict(json.loads(JsonFormatter().format(record)))


def test_line_is_json_with_request_id() -> None:
    token = request_id.set("abc123")
    try:
        line = _line(status=200)
    finally:
        request_id.reset(token)
    assert line["msg"] == "hello world" and line["rid"] == "abc123" and line["status"] == 200
    assert line["level"] == "info" and str(line["ts"]).endswith("Z")


def test_secret_fields_are_redacted() -> None:
    line = _line(token="eyJhbGciOi.secret", Authorization="Bearer x", password="p")
    assert line["token"] == line["Authorization"] == line["password"] == "[redacted]"
    assert "eyJhbGciOi" not in json.dumps(line)
