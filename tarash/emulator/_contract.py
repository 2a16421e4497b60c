"""The providers' published request contracts, kept as data, and the check of a body.

Each provider's contract is a JSON file under ``contracts/`` (see its ``README.md``), made by
``contracts/extract.py`` from the provider's own machine-readable description and carrying
its ``source`` and the date it was ``read``. The emulator's contracts are its own: they are
never taken from the client's registry tables, so the emulator can disagree with the client.

:func:`check` walks a body against a schema in the small subset those files use and returns
every :class:`Issue` it finds; each provider module words them as its provider does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

IssueKind = Literal["missing", "unknown", "type", "enum", "range"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    """One way a body breaks its contract.

    Attributes:
        loc: Where, as keys and list indexes from the body's top.
        kind: ``missing`` (a required field left out), ``unknown`` (a field the contract
            does not list), ``type``, ``enum`` (not one of the listed values) or ``range``
            (a number, length or count outside its bounds).
        expected: What the contract wants there: a type name, the allowed values, or the
            bound broken (``{"minimum": 1}``).
        value: What the body holds there (``None`` for a missing field).
    """

    loc: Loc
    kind: IssueKind
    expected: Any
    value: Any

    @property
    def field(self) -> str:
        """``loc`` written as a dotted path (``input_reference.image_url``, ``images[0]``)."""
        out = ""
        for part in self.loc:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


@functools.cache
def load_contract(provider: str) -> Mapping[str, Any]:
    """The contract file ``contracts/<provider>.json``, parsed (read once a process)."""
    text = resources.files("tarash.emulator").joinpath("contracts", f"{provider}.json")
    contract: Mapping[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return contract


_TYPE_NAMES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
    "file": "file",
}


def check(
    schema: Mapping[str, Any],
    value: Any,
    *,
    form: bool = False,
    optional_null: bool = False,
    loc: Loc = (),
) -> list[Issue]:
    """Every way ``value`` breaks ``schema``.

    Args:
        schema: A schema in the contracts' subset (see ``contracts/README.md``).
        value: The decoded body (or a part of it).
        form: Values came from a multipart form, so scalars arrive as strings and are
            read as the schema's type first (as the providers' form parsers do).
        optional_null: ``null`` is accepted for any field that is not required (fal's
            pydantic models give optional fields a ``None`` default).
        loc: Where ``value`` sits in the body.

    Returns:
        The issues, in the body's order; empty when ``value`` keeps the contract.
    """
    if value is None and (schema.get("nullable") or optional_null):
        return []
    if "anyOf" in schema:
        return _check_any(schema, value, form=form, optional_null=optional_null, loc=loc)
    kind = schema.get("type", "any")
    if form and isinstance(value, str):
        value = _from_form(kind, value)
    if not _is_type(kind, value):
        return [Issue(loc, "type", _TYPE_NAMES.get(kind, kind), value)]
    if "enum" in schema and value not in schema["enum"]:
        return [Issue(loc, "enum", tuple(schema["enum"]), value)]
    issues = _check_bounds(schema, value, loc)
    if kind == "object":
        issues += _check_object(schema, value, form=form, optional_null=optional_null, loc=loc)
    elif kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            issues += check(
                schema["items"], item, form=form, optional_null=optional_null, loc=(*loc, index)
            )
    return issues


def _check_object(
    schema: Mapping[str, Any],
    value: Mapping[str, Any],
    *,
    form: bool,
    optional_null: bool,
    loc: Loc,
) -> list[Issue]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    issues = [
        Issue((*loc, name), "missing", "present", None)
        for name in schema.get("required", ())
        if name not in value
    ]
    for name, item in value.items():
        if name in properties:
            issues += check(
                properties[name], item, form=form, optional_null=optional_null, loc=(*loc, name)
            )
        elif not schema.get("additional"):
            issues.append(Issue((*loc, name), "unknown", tuple(properties), item))
    return issues


def _check_any(
    schema: Mapping[str, Any], value: Any, *, form: bool, optional_null: bool, loc: Loc
) -> list[Issue]:
    best: list[Issue] | None = None
    for option in schema["anyOf"]:
        issues = check(option, value, form=form, optional_null=optional_null, loc=loc)
        if not issues:
            return []
        # Report the option whose type matched (its issues say more than a type mismatch).
        if best is None or (best[0].kind == "type" and issues[0].kind != "type"):
            best = issues
    return best or []


def _check_bounds(schema: Mapping[str, Any], value: Any, loc: Loc) -> list[Issue]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        measured: float = value
        low, high = "minimum", "maximum"
    elif isinstance(value, str):
        measured, low, high = len(value), "minLength", "maxLength"
    elif isinstance(value, list):
        measured, low, high = len(value), "minItems", "maxItems"
    else:
        return []
    if low in schema and measured < schema[low]:
        return [Issue(loc, "range", {low: schema[low]}, value)]
    if high in schema and measured > schema[high]:
        return [Issue(loc, "range", {high: schema[high]}, value)]
    return []


def _is_type(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "file":  # an upload, or (in JSON) a URL or data URI standing for one
        return isinstance(value, (str, bytes))
    return kind == "any"


def _from_form(kind: str, text: str) -> Any:
    """A form field's text as ``kind``, or the text unchanged when it does not parse."""
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return text
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


@dataclass(frozen=True)
class Leniency:
    """A known client wire bug that a test may tell the emulator to let through.

    Each provider lists its own in ``known_client_bugs`` (by name); a test that meets one
    names it in the provider options' ``lenient`` set, so the check stays strict everywhere
    else and the bug stays on record until the client is fixed.

    Attributes:
        models: The model ids the bug shows on (``"*"``: any).
        fields: The :attr:`Issue.field` paths let through on those models.
        note: What the client sends and what the provider's contract says instead.
    """

    models: tuple[str, ...]
    fields: tuple[str, ...]
    note: str

    def covers(self, model: str, issue: Issue) -> bool:
        """Whether ``issue``, met on ``model``, is this bug."""
        return ("*" in self.models or model in self.models) and issue.field in self.fields


def untolerated(issues: list[Issue], model: str, leniencies: list[Leniency]) -> list[Issue]:
    """``issues`` without those a leniency in force covers."""
    return [
        issue
        for issue in issues
        if not any(leniency.covers(model, issue) for leniency in leniencies)
    ]
