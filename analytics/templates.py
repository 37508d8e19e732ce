"""Kiosk case templates as data, and validation of a submitted form against its template.

Each error names the field and the rule it broke, in English and Chinese, so the kiosk can show
it beside the field and an API client can act on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATES_FILE = Path(__file__).with_name("data") / "templates.yaml"
FIELD_TYPES = ("text", "textarea", "phone", "select", "boolean")


class TemplateError(ValueError):
    """The templates file itself is wrong (not the citizen's input)."""


@dataclass(frozen=True)
class FieldError:
    field: str
    rule: str
    message: str
    messages: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, "message": self.message, "messages": self.messages}


def load_templates(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Templates by id, with common fields expanded. Raises TemplateError naming the bad entry."""
    path = path or TEMPLATES_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read kiosk templates {path}: {exc}") from None
    common = doc.get("common_fields") or {}
    out: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(doc.get("templates") or []):
        tid = raw.get("id")
        if not isinstance(tid, str) or not tid:
            raise TemplateError(f"{path}: templates[{i}] needs an id")
        fields = []
        for f in raw.get("fields") or []:
            if isinstance(f, str):
                if f not in common:
                    raise TemplateError(f"{path}: template {tid}: unknown common field {f!r}")
                f = common[f]
            f = dict(f)
            if f.get("type", "text") not in FIELD_TYPES:
                raise TemplateError(f"{path}: template {tid} field {f.get('name')}: type must be one of "
                                    f"{', '.join(FIELD_TYPES)}")
            if f.get("pattern"):
                try:
                    re.compile(f["pattern"])
                except re.error as exc:
                    raise TemplateError(f"{path}: template {tid} field {f['name']}: bad pattern: {exc}") from None
            fields.append(f)
        out[tid] = {"id": tid, "label": raw.get("label"), "description": raw.get("description"), "fields": fields}
    if not out:
        raise TemplateError(f"{path}: no templates defined")
    return out


_TEMPLATES: dict[str, dict[str, Any]] | None = None


def templates() -> dict[str, dict[str, Any]]:
    """The shipped templates, loaded once."""
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = load_templates()
    return _TEMPLATES


def _err(field: str, rule: str, en: str, zh: str) -> FieldError:
    return FieldError(field, rule, en, {"en": en, "zh": zh})


def validate(template: dict[str, Any], values: Any, *, max_text_chars: int = 4000) -> tuple[dict[str, Any],
                                                                                          list[FieldError]]:
    """Check a form against its template; returns (cleaned values, errors).

    Unknown fields are errors too (a form must not smuggle data the template does not declare).
    """
    if not isinstance(values, dict):
        return {}, [_err("fields", "type", "fields must be a JSON object of field name -> value",
                         "fields 必须是“字段名: 值”的 JSON 对象")]
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    declared = {f["name"]: f for f in template["fields"]}
    for name in values:
        if name not in declared:
            errors.append(_err(str(name), "unknown", f"{name} is not a field of template {template['id']}; "
                               f"accepted: {', '.join(declared)}",
                               f"{name} 不是“{template['id']}”模板的字段"))
    for name, f in declared.items():
        ftype = f.get("type", "text")
        value = values.get(name)
        label_en = (f.get("label") or {}).get("en", name)
        label_zh = (f.get("label") or {}).get("zh", name)
        if ftype == "boolean":
            if value in (None, ""):
                value = False
            if not isinstance(value, bool):
                errors.append(_err(name, "type", f"{name} ({label_en}) must be true or false",
                                   f"{label_zh}：只能是“是”或“否”"))
                continue
            cleaned[name] = value
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.get("required"):
                errors.append(_err(name, "required", f"{name} ({label_en}) is required", f"{label_zh}：必填"))
            continue
        if not isinstance(value, str):
            errors.append(_err(name, "type", f"{name} ({label_en}) must be text", f"{label_zh}：必须是文字"))
            continue
        value = value.strip()
        limit = min(int(f.get("max_length") or max_text_chars), max_text_chars)
        if len(value) > limit:
            errors.append(_err(name, "max_length", f"{name} ({label_en}) is {len(value)} characters; at most "
                               f"{limit} are accepted", f"{label_zh}：最多 {limit} 个字，当前 {len(value)} 个"))
            continue
        if f.get("min_length") and len(value) < int(f["min_length"]):
            n = int(f["min_length"])
            errors.append(_err(name, "min_length", f"{name} ({label_en}) needs at least {n} characters",
                               f"{label_zh}：至少 {n} 个字"))
            continue
        if ftype == "select":
            allowed = [str(o["value"]) if isinstance(o, dict) else str(o) for o in f.get("options") or []]
            if value not in allowed:
                errors.append(_err(name, "choice", f"{name} ({label_en}) must be one of: {', '.join(allowed)}",
                                   f"{label_zh}：请从选项中选择"))
                continue
        pattern = f.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            msg = f.get("pattern_message") or {}
            errors.append(FieldError(name, "pattern",
                                     f"{name} ({label_en}): {msg.get('en', 'not in the expected format')}",
                                     {"en": msg.get("en", "not in the expected format"),
                                      "zh": msg.get("zh", "格式不正确")}))
            continue
        cleaned[name] = value
    return cleaned, errors


def report_text(template: dict[str, Any], cleaned: dict[str, Any]) -> str:
    """The incident text of a kiosk report: the citizen's own words, plus a theft flag they ticked."""
    text = str(cleaned.get("description", "")).strip()
    if cleaned.get("theft_suspected"):
        text += "\n（报案人怀疑被盗 / reporter suspects theft）"
    return text


def public_view(template: dict[str, Any]) -> dict[str, Any]:
    """What the kiosk page needs: ids, labels, fields and their rules."""
    return {"id": template["id"], "label": template["label"], "description": template["description"],
            "fields": [dict(f) for f in template["fields"]]}
