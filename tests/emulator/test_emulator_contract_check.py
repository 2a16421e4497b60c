"""The contract check itself (``tarash.emulator._contract``): what it accepts, what issue
it reports where, and how a known client bug is let through."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tarash.emulator._contract import Issue, Leniency, check, load_contract, untolerated

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "prompt": {"type": "string", "minLength": 1, "maxLength": 5},
        "n": {"type": "integer", "minimum": 1, "maximum": 4},
        "size": {"type": "string", "enum": ["a", "b"]},
        "model": {"type": "string", "known": ["m1"]},
        "ref": {
            "type": "object",
            "properties": {"url": {"type": "string"}},
        },
        "images": {"type": "array", "maxItems": 2, "items": {"type": "file"}},
        "either": {"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "integer"}]},
        "note": {"type": "string", "nullable": True},
    },
}


def test_a_body_keeping_the_contract_has_no_issue() -> None:
    """Every field at a value its schema takes: no issue (an open enum takes any string)."""
    body = {
        "prompt": "hi",
        "n": 4,
        "size": "b",
        "model": "m9",
        "ref": {"url": "u"},
        "images": [b"png", "https://x"],
        "either": 3,
        "note": None,
    }
    assert check(SCHEMA, body) == []


def test_each_kind_of_issue_is_reported_where_it_is() -> None:
    """Missing, unknown (nested too), type, enum and range issues carry their path."""
    body = {"n": 0, "size": "c", "ref": {"url": "u", "extra": 1}, "images": ["a", "b", "c"]}
    issues = check(SCHEMA, body)
    assert [(issue.field, issue.kind) for issue in issues] == [
        ("prompt", "missing"),
        ("n", "range"),
        ("size", "enum"),
        ("ref.extra", "unknown"),
        ("images", "range"),
    ]
    assert issues[1].expected == {"minimum": 1}


def test_an_any_of_reports_the_option_whose_type_matched() -> None:
    """A string outside the string option's enum is an enum issue, not a type mismatch."""
    (issue,) = check(SCHEMA, {"prompt": "p", "either": "y"})
    assert (issue.kind, issue.expected) == ("enum", ("x",))


def test_form_values_are_read_as_their_type() -> None:
    """Multipart text is read as the schema's type first; text that does not parse is a
    type issue."""
    assert check(SCHEMA, {"prompt": "p", "n": "3"}, form=True) == []
    (issue,) = check(SCHEMA, {"prompt": "p", "n": "three"}, form=True)
    assert (issue.field, issue.kind) == ("n", "type")


def test_optional_fields_may_be_null_when_asked() -> None:
    """``optional_null`` takes null for a field that is not required (fal's defaults)."""
    assert check(SCHEMA, {"prompt": "p", "n": None}, optional_null=True) == []
    assert check(SCHEMA, {"prompt": "p", "n": None})[0].kind == "type"


def test_a_leniency_lets_through_only_its_model_and_field() -> None:
    """A named client bug covers its own field on its own models, nothing else."""
    bug = Leniency(models=("m1",), fields=("size",), note="the client sends size=c")
    issues = [Issue(("size",), "enum", ("a", "b"), "c"), Issue(("n",), "range", {}, 9)]
    assert [issue.field for issue in untolerated(issues, "m1", [bug])] == ["n"]
    assert len(untolerated(issues, "m2", [bug])) == 2


@given(
    prompt=st.text(min_size=1, max_size=5),
    n=st.integers(1, 4),
    size=st.sampled_from(["a", "b"]),
)
def test_any_value_the_schema_lists_is_accepted(prompt: str, n: int, size: str) -> None:
    """Property: values drawn from the schema's own types, enums and ranges never fail."""
    assert check(SCHEMA, {"prompt": prompt, "n": n, "size": size}) == []


def test_every_contract_file_names_its_source_and_date() -> None:
    """Each provider's contract carries where it was read and when."""
    for provider in ("openai", "fal", "runway"):
        contract = load_contract(provider)
        assert contract["provider"] == provider
        assert contract["source"].startswith("https://github.com/")
        assert contract["read"] == "2026-12-07"
