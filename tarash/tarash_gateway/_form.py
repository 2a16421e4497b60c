"""``multipart/form-data`` bodies for providers whose create takes a form (Stability's
generate endpoints, OpenAI's ``videos.create``).

A form carries text fields and files only, so a value that is fine in a JSON body (a dict,
``None`` inside a list) cannot be sent in one. :func:`check_form` refuses such a value with
a :class:`ValidationError` naming it, at prepare time, before anything is sent: the same
rule ``_validate.check_sendable`` enforces for JSON bodies. :func:`encode_form` builds the
body the submit sends, from the same fields, through the same conversion.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tarash.tarash_gateway.errors import ValidationError

__all__ = ["FormFile", "check_form", "encode_form", "form_text"]

# The HTML5 rules for a name inside Content-Disposition (as browsers and httpx write it):
# a quote, and every control character but ESC, are percent-encoded.
_NAME_ESCAPES = {'"': "%22", "\\": "\\\\"} | {
    chr(code): f"%{code:02X}" for code in range(0x20) if code != 0x1B
}
_NAME_SPECIALS = re.compile("|".join(re.escape(char) for char in _NAME_ESCAPES))


@dataclass(frozen=True, slots=True)
class FormFile:
    """A file part of a form.

    Attributes:
        content: The file's bytes.
        content_type: Its MIME type, sent as the part's ``Content-Type``.
        file_name: The ``filename`` the part declares.
    """

    content: bytes
    content_type: str
    file_name: str


def _invalid(message: str) -> ValidationError:
    # The input itself cannot be sent: no other provider would take it either.
    return ValidationError(message, fallback_allowed=False)


def form_text(value: object, name: str) -> str:
    """The text a form field sends for ``value``, as curl ``-F`` and httpx write it.

    Booleans become ``true``/``false``; numbers their ``str``.

    Raises:
        ValidationError: ``value`` is not a str, int, float or bool, or cannot be written
            as UTF-8 (a lone surrogate, an integer too large to print); names ``name``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise _invalid(
            f"{name} cannot be sent in a form: a {type(value).__name__} is not text or a "
            "number (send str, int, float or bool, or a list of them)"
        )
    try:
        text = str(value)
    except ValueError:  # int too large for str() (sys.int_info.default_max_str_digits)
        raise _invalid(f"{name} cannot be sent in a form: the integer is too large") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _invalid(
            f"{name} cannot be sent in a form: it holds a lone surrogate at position "
            f"{exc.start}, which UTF-8 cannot encode"
        ) from None
    return text


def _field_items(fields: Mapping[str, Any], name: str) -> Iterable[tuple[str, str]]:
    for key, value in fields.items():
        if not isinstance(key, str):
            raise _invalid(f"{name}[{key!r}] cannot be sent in a form: field names are str")
        where = f"{name}[{key!r}]"
        form_text(key, f"the field name {where}")
        if value is None:
            continue  # not sent, as with a JSON body's absent field
        if isinstance(value, list | tuple):
            # A list repeats the field (curl -F a=1 -F a=2), as httpx sends it.
            for index, item in enumerate(value):
                yield key, form_text(item, f"{where}[{index}]")
        else:
            yield key, form_text(value, where)


def check_form(fields: Mapping[str, Any], name: str = "payload") -> list[tuple[str, str]]:
    """Check that every field can be sent as form text and return them as text.

    Args:
        fields: Field name -> a str, int, float or bool, a list of them (the field is
            repeated), or ``None`` (left out).
        name: How to name ``fields`` in the error (the failing element is named below it,
            e.g. ``payload['cfg_scale']``).

    Returns:
        The ``(name, text)`` pairs in order.

    Raises:
        ValidationError: Naming the first value that cannot be sent and why.
    """
    return list(_field_items(fields, name))


def _disposition_name(name: str) -> str:
    return _NAME_SPECIALS.sub(lambda match: _NAME_ESCAPES[match.group(0)], name)


def encode_form(
    fields: Mapping[str, Any], files: Mapping[str, FormFile] | None = None
) -> tuple[str, bytes]:
    """Encode a ``multipart/form-data`` body.

    Args:
        fields: As for :func:`check_form`.
        files: Field name -> file part.

    Returns:
        The ``Content-Type`` header (with its boundary) and the body.

    Raises:
        ValidationError: A field cannot be sent (see :func:`check_form`).
    """
    texts = check_form(fields)
    parts: list[tuple[bytes, bytes]] = [
        (
            f'Content-Disposition: form-data; name="{_disposition_name(key)}"\r\n\r\n'.encode(),
            text.encode("utf-8"),
        )
        for key, text in texts
    ]
    for key, file in (files or {}).items():
        header = (
            f'Content-Disposition: form-data; name="{_disposition_name(key)}"; '
            f'filename="{_disposition_name(file.file_name)}"\r\n'
            f"Content-Type: {file.content_type}\r\n\r\n"
        )
        parts.append((header.encode(), file.content))
    while True:
        # Random, so that no part can contain it but by a 2^-128 chance, which is checked.
        boundary = secrets.token_hex(16)
        marker = f"--{boundary}".encode()
        if not any(marker in head or marker in content for head, content in parts):
            break
    chunks: list[bytes] = []
    for head, content in parts:
        chunks += [marker, b"\r\n", head, content, b"\r\n"]
    chunks += [marker, b"--\r\n"]
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)
