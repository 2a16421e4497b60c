"""``multipart/form-data`` bodies as the emulated servers read them (Stability's generate
routes, OpenAI's image edits): parsed with the standard library's MIME parser, so a form is
read as sent by curl ``-F``, httpx ``files=``/``data=`` or a browser.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass, field

__all__ = ["Form", "FormFile", "parse_form"]


@dataclass(frozen=True)
class FormFile:
    """One file part of a parsed form."""

    content: bytes
    content_type: str | None
    file_name: str | None


@dataclass
class Form:
    """A parsed ``multipart/form-data`` body: text fields (last value wins, as Stability
    reads a repeated field) and files."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, FormFile] = field(default_factory=dict)


def parse_form(content_type: str, body: bytes) -> Form:
    """Parse a ``multipart/form-data`` body with the standard library's MIME parser.

    Args:
        content_type: The request's ``Content-Type`` (with its ``boundary``).
        body: The request body.

    Returns:
        The fields and files; a part with a ``filename`` is a file (curl ``-F x=@path``).

    Raises:
        ValueError: The body is not a multipart form.
    """
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in (
        content_type.lower()
    ):
        raise ValueError("content-type: must be multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("body: not a multipart form")
    form = Form()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        file_name = part.get_filename()
        if file_name is not None:
            declared = part.get("content-type")
            form.files[name] = FormFile(data, str(declared) if declared else None, file_name)
        else:
            charset = part.get_content_charset() or "utf-8"
            form.fields[name] = data.decode(charset, errors="replace")
    return form
