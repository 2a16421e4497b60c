"""``multipart/form-data`` bodies for providers whose create takes a form (Stability's
generate endpoints, OpenAI's ``videos.create``).

A form carries text fields and files only, so a value that is fine in a JSON body (a dict,
``None`` inside a list) cannot be sent in one. :func:`check_form` refuses such a value with
a :class:`ValidationError` naming it, at prepare time, before anything is sent: the same
rule ``_validate.check_sendable`` enforces for JSON bodies. :func:`encode_form` builds the
body the submit sends, from the same fields, through the same conversion.

The bytes are httpx's own multipart encoder's (``httpx.Request(files=...)``): its part
headers, HTML5 name escaping and random 128-bit boundary. What stays here is what httpx
does not do: refuse an unsendable value with a :class:`ValidationError` that names it
(httpx raises a bare ``TypeError`` or ``UnicodeEncodeError``, and writes ``None`` as an
empty field where a JSON body leaves it out), and hand the submit one finished body, so a
retried create resends the same bytes through ``_http``'s ``content=`` like any body.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tarash.tarash_gateway.errors import ValidationError

__all__ = ["FormFile", "check_form", "encode_form", "form_text"]


@dataclass(frozen=True, slots=True)
class FormFile:
    """A file part of a form.

    Attributes:
        content: The file's bytes.
        content_type: Its MIME type, sent as the part's ``Content-Type``.
        file_name: The ``filename`` the part declares (not empty: httpx writes no
            ``filename`` for an empty one, and the part would read as a text field).
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


# A part is (file name, content, content type); text fields have neither name nor type.
_Part = tuple[str | None, bytes, str | None]


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
    # Text fields go as parts without a file name, which httpx writes exactly as its
    # ``data=`` fields; through ``data=`` alone (no file) httpx would send a urlencoded
    # body, which Stability's text-to-image endpoints refuse.
    parts: list[tuple[str, _Part]] = [
        (key, (None, text.encode("utf-8"), None)) for key, text in check_form(fields)
    ]
    parts += [
        (key, (file.file_name, file.content, file.content_type))
        for key, file in (files or {}).items()
    ]
    if not parts:
        # httpx encodes no multipart body without a part; an empty form is the closing
        # delimiter alone, which a MIME parser reads as no part.
        boundary = secrets.token_hex(16)
        return f"multipart/form-data; boundary={boundary}", f"--{boundary}--\r\n".encode()
    # The URL is never requested: the request only carries httpx's encoding of the form.
    encoded = httpx.Request("POST", "http://form.invalid/", files=parts)
    return encoded.headers["Content-Type"], encoded.read()
