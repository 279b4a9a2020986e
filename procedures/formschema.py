"""The application form of a procedure, stored as versioned JSON and validated before it is saved.

Format version 1::

    {"version": 1, "fields": [
        {"name": "business_name", "type": "text", "label": {"vi": "...", "en": "..."},
         "required": true, "help": {"vi": "...", "en": "..."},
         "validation": {"max_length": 200, "pattern": "^[^<>]*$"},
         "show_if": {"field": "applicant_kind", "equals": "organisation"}},
        {"name": "products", "type": "group", "label": {...}, "fields": [...], "min": 1, "max": 20}
    ]}

Types: text, number, date, choice (with options), address, id_number, file, group (repeating).
`show_if` may only refer to a field that comes earlier at the same level.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

FORMAT_VERSION = 1
FIELD_TYPES = ("text", "number", "date", "choice", "address", "id_number", "file", "group")

_LABEL = {
    "type": "object",
    "properties": {"vi": {"type": "string", "minLength": 1}, "en": {"type": "string"}},
    "required": ["vi"],
    "additionalProperties": False,
}

META_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "label": _LABEL,
        "field": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,49}$"},
                "type": {"enum": list(FIELD_TYPES)},
                "label": {"$ref": "#/$defs/label"},
                "help": {"$ref": "#/$defs/label"},
                "required": {"type": "boolean"},
                "validation": {
                    "type": "object",
                    "properties": {
                        "min": {"type": "number"},
                        "max": {"type": "number"},
                        "min_length": {"type": "integer", "minimum": 0},
                        "max_length": {"type": "integer", "minimum": 1},
                        "pattern": {"type": "string"},
                        "accepted_types": {"type": "array", "items": {"type": "string"}},
                        "max_size_mb": {"type": "integer", "minimum": 1},
                    },
                    "additionalProperties": False,
                },
                "options": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {"value": {"type": "string", "minLength": 1}, "label": {"$ref": "#/$defs/label"}},
                        "required": ["value", "label"],
                        "additionalProperties": False,
                    },
                },
                "show_if": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "equals": {}},
                    "required": ["field", "equals"],
                    "additionalProperties": False,
                },
                "fields": {"type": "array", "items": {"$ref": "#/$defs/field"}, "minItems": 1},
                "min": {"type": "integer", "minimum": 0},
                "max": {"type": "integer", "minimum": 1},
            },
            "required": ["name", "type", "label"],
            "additionalProperties": False,
        },
    },
    "type": "object",
    "properties": {
        "version": {"const": FORMAT_VERSION},
        "fields": {"type": "array", "items": {"$ref": "#/$defs/field"}},
    },
    "required": ["version", "fields"],
    "additionalProperties": False,
}

_VALIDATOR = Draft202012Validator(META_SCHEMA)


def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _explain(err) -> str:
    """Return the jsonschema error ERR in the user's language (jsonschema itself speaks English)."""
    value, instance = err.validator_value, err.instance
    if err.validator == "required" and isinstance(instance, dict):
        missing = ", ".join(f"'{k}'" for k in value if k not in instance)
        return _("%(keys)s is a required property") % {"keys": missing}
    if err.validator == "type":
        return _("%(value)s is not of type %(type)s") % {"value": repr(instance), "type": value}
    if err.validator == "enum":
        return _("%(value)s is not one of %(allowed)s") % {
            "value": repr(instance),
            "allowed": ", ".join(map(str, value)),
        }
    if err.validator == "additionalProperties" and isinstance(instance, dict):
        known = set(err.schema.get("properties", {}))
        return _("unknown key(s): %(keys)s") % {"keys": ", ".join(sorted(k for k in instance if k not in known))}
    if err.validator in ("minItems", "minLength"):
        return _("must have at least %(n)s item(s) or character(s)") % {"n": value}
    if err.validator == "pattern":
        return _("%(value)s does not have the expected form") % {"value": repr(instance)}
    return _("is not valid (%(detail)s)") % {"detail": err.message}


def _check_fields(fields: list[dict], prefix: str, problems: list[str]) -> None:
    seen: set[str] = set()
    for index, field in enumerate(fields):
        where = f"{prefix}[{index}]"
        name = field["name"]
        if name in seen:
            problems.append(f"{where}.name: " + _("duplicate field name '%(name)s'") % {"name": name})
        ftype = field["type"]
        if ftype == "choice" and not field.get("options"):
            problems.append(f"{where}.options: " + _("a choice field needs options"))
        if ftype != "choice" and "options" in field:
            problems.append(f"{where}.options: " + _("only a choice field has options"))
        if ftype == "group":
            if not field.get("fields"):
                problems.append(f"{where}.fields: " + _("a repeating group needs its fields"))
            else:
                _check_fields(field["fields"], f"{where}.fields", problems)
            if "min" in field and "max" in field and field["min"] > field["max"]:
                problems.append(f"{where}.min: " + _("larger than max"))
        elif "fields" in field:
            problems.append(f"{where}.fields: " + _("only a group has fields"))
        rule = field.get("validation", {})
        if "min" in rule and "max" in rule and rule["min"] > rule["max"]:
            problems.append(f"{where}.validation.min: " + _("larger than max"))
        if "pattern" in rule:
            import re

            try:
                re.compile(rule["pattern"])
            except re.error as exc:
                problems.append(
                    f"{where}.validation.pattern: " + _("not a valid regular expression (%(error)s)") % {"error": exc}
                )
        cond = field.get("show_if")
        if cond and cond["field"] not in seen:
            problems.append(
                f"{where}.show_if.field: " + _("'%(name)s' is not an earlier field") % {"name": cond["field"]}
            )
        seen.add(name)


def form_schema_errors(schema: Any) -> list[str]:
    """Return every problem of SCHEMA as 'where: what' (empty when the schema is valid)."""
    problems = [
        f"{_where(err.absolute_path)}: {_explain(err)}"
        for err in sorted(_VALIDATOR.iter_errors(schema), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        return problems
    _check_fields(schema["fields"], "fields", problems)
    return problems


def form_schema_fields(schema: dict, language: str) -> list[dict]:
    """Flatten SCHEMA for display: label and help in LANGUAGE, nested groups kept as children."""

    def label(value: dict | None) -> str:
        if not value:
            return ""
        return (value.get("en") if language == "en" else None) or value.get("vi", "")

    def walk(fields: list[dict]) -> list[dict]:
        return [
            {
                "name": f["name"],
                "type": f["type"],
                "label": label(f.get("label")),
                "help": label(f.get("help")),
                "required": f.get("required", False),
                "options": [{"value": o["value"], "label": label(o["label"])} for o in f.get("options", [])],
                "show_if": f.get("show_if"),
                "validation": f.get("validation", {}),
                "children": walk(f.get("fields", [])),
            }
            for f in fields
        ]

    return walk((schema or {}).get("fields", []))
