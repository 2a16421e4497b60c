"""multipart/form-data bodies: what a form can carry is checked before sending, and the
encoded body parses back to the same fields and files with a standard MIME parser."""

from __future__ import annotations

import email.parser
import email.policy
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tarash.tarash_gateway.engine._form import FormFile, check_form, encode_form
from tarash.tarash_gateway.errors import ValidationError


def parse(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, content) of every part, read back with the stdlib's MIME parser."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        parts.append((name, part.get_filename(), payload))
    return parts


def test_fields_and_files_round_trip() -> None:
    """Text, numbers, booleans, repeated fields and a file come back as curl -F sends them;
    None is left out."""
    content_type, body = encode_form(
        {"prompt": "a fox, «snow»", "seed": 7, "strength": 0.5, "flag": True, "n": [1, 2]}
        | {"skip": None},
        {"image": FormFile(b"\x89PNG\r\n--x", "image/png", "in.png")},
    )
    assert content_type.startswith("multipart/form-data; boundary=")
    assert parse(content_type, body) == [
        ("prompt", None, "a fox, «snow»".encode()),
        ("seed", None, b"7"),
        ("strength", None, b"0.5"),
        ("flag", None, b"true"),
        ("n", None, b"1"),
        ("n", None, b"2"),
        ("image", "in.png", b"\x89PNG\r\n--x"),
    ]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"opts": {"a": 1}}, "payload['opts']"),
        ({"n": [1, None]}, "payload['n'][1]"),
        ({"n": [[1]]}, "payload['n'][0]"),
        ({"p": "bad \udc80"}, "payload['p']"),
        ({"when": b"raw"}, "payload['when']"),
        ({"big": 10**5000}, "payload['big']"),
        ({"\udc80": "x"}, "field name"),
    ],
)
def test_unsendable_values_are_refused_naming_them(fields: dict[str, Any], named: str) -> None:
    """A value a form cannot carry is a ValidationError naming it (no fallback)."""
    with pytest.raises(ValidationError, match=named.replace("[", r"\[").replace("]", r"\]")) as e:
        check_form(fields)
    assert e.value.fallback_allowed is False


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(
            lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)
        ),
        st.one_of(
            st.text(max_size=12).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=4,
    )
)
def test_any_sendable_form_parses_back(fields: dict[str, Any]) -> None:
    """Whatever text and numbers are sent, a MIME parser reads each value back unchanged
    (names with quotes or control characters are escaped, not broken)."""
    content_type, body = encode_form(fields)
    parsed = parse(content_type, body)
    assert [value for _, _, value in parsed] == [
        (str(value) if not isinstance(value, float) or math.isfinite(value) else "").encode()
        for value in fields.values()
    ]
