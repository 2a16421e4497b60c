"""What a batch writes to its ledger: input hashes, responses and errors as JSON, no secret.

The ledger holds no input, only a hash of it (to refuse a changed input at the same index
on a rerun), and no key in any spelling: everything written is scrubbed of every key the
config chain names or the environment gives its providers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, SecretStr, TypeAdapter

from tarash.tarash_gateway import errors
from tarash.tarash_gateway._unions import Config, Response
from tarash.tarash_gateway.engine._redact import redact
from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.models import (
    ExecutionMetadata,
    ImageGenerationResponse,
    JobHandle,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers import get_provider_entry

__all__ = [
    "chain_secrets",
    "dump_error",
    "dump_handle",
    "dump_response",
    "input_hash",
    "load_error",
    "load_handle",
    "load_response",
]


# Never part of the hash: a key moved from the config to the environment (or rotated)
# is the same request.
_UNHASHED_CONFIG_FIELDS = frozenset({"api_key"})


def _canonical(value: Any) -> Any:
    """A JSON-able, order-independent form of a config or request dump."""
    if isinstance(value, BaseModel):
        return _canonical(value.model_dump())
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in sorted(value.items(), key=str)}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, bytes | bytearray):
        # Inline media: its digest stands for it (the bytes are never stored).
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, SecretStr):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _canonical(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _config_fields(config: Config) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in type(config).model_fields:
        if name in _UNHASHED_CONFIG_FIELDS:
            continue
        value = getattr(config, name)
        if name == "fallback_configs" and value:
            value = [_config_fields(fallback) for fallback in value]
        fields[name] = value
    return fields


def input_hash(config: Config, request: BaseModel) -> str:
    """SHA-256 of the canonical JSON of ``config`` (keys left out) and ``request``."""
    document = {
        "config": _canonical(_config_fields(config)),
        "request": _canonical(request.model_dump()),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def chain_secrets(config: Config) -> list[str]:
    """Every key the chain's configs hold or their providers read from the environment."""
    secrets: list[str] = []
    for member in config.chain():
        if member.api_key:
            secrets.append(str(member.api_key))
        try:
            entry = get_provider_entry(member.provider)
        except TarashException:
            continue
        for variable in getattr(entry, "key_env_vars", ()):
            value = os.environ.get(variable)
            if value:
                secrets.append(value)
    return secrets


def _scrubbed_json(document: Any, secrets: list[str]) -> str:
    return json.dumps(redact(document, secrets), separators=(",", ":"))


def dump_handle(handle: JobHandle, secrets: list[str]) -> str:
    """The handle as JSON (it holds no key; scrubbed all the same)."""
    return _scrubbed_json(handle.model_dump(mode="json"), secrets)


def load_handle(text: str) -> JobHandle:
    """The handle written by :func:`dump_handle`."""
    return JobHandle.model_validate_json(text)


_BASE64_CONTENT = "content_base64"
"""The key a :class:`MediaContent` video's bytes are written under, as base64 text (JSON
holds no bytes); read back into the dict's ``content``."""


def _as_text_media(media: Any, content_type: str | None) -> Any:
    if isinstance(media, bytes | bytearray):
        # Inline media travel as a data: URI, which save() writes the same way.
        encoded = base64.b64encode(bytes(media)).decode("ascii")
        return f"data:{content_type or 'application/octet-stream'};base64,{encoded}"
    if isinstance(media, dict) and isinstance(media.get("content"), bytes | bytearray):
        # Kept a MediaContent dict (the published shape of OpenAI's and Veo's videos), so
        # that a result read back from the ledger has the shape it was returned with.
        return {
            _BASE64_CONTENT: base64.b64encode(bytes(media["content"])).decode("ascii"),
            "content_type": media.get("content_type") or content_type or "video/mp4",
        }
    return media


def _from_text_media(media: Any) -> Any:
    """A video as :func:`_as_text_media` wrote it, its MediaContent's bytes decoded."""
    if isinstance(media, dict) and isinstance(media.get(_BASE64_CONTENT), str):
        return {
            "content": base64.b64decode(media[_BASE64_CONTENT]),
            "content_type": media.get("content_type") or "video/mp4",
        }
    return media


def dump_response(response: Response, secrets: list[str]) -> str:
    """The response as JSON, inline media as ``data:`` URIs (a :class:`MediaContent`
    video as its type and base64 text, read back as a dict), scrubbed of every key.

    The URLs whose download needs the provider's key are listed (never the key): a
    response read back resolves it from the environment when it saves, as an unpickled
    one does.
    """
    if isinstance(response, VideoGenerationResponse):
        kind = "video"
        body = response.model_dump(mode="python", exclude={"video"})
        body["video"] = _as_text_media(response.video, response.content_type)
    else:
        kind = "image"
        body = response.model_dump(mode="python", exclude={"images"})
        body["images"] = [_as_text_media(item, response.content_type) for item in response.images]
    keyed = sorted(response._keyed_urls | frozenset(response._download_headers))
    document = {"kind": kind, "response": _canonical_json(body), "keyed_urls": keyed}
    return _scrubbed_json(document, secrets)


def _canonical_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return repr(value)


def load_response(text: str) -> Response:
    """The response written by :func:`dump_response`."""
    document = json.loads(text)
    body = document["response"]
    model: type[Response] = ImageGenerationResponse
    if document["kind"] == "video":
        model = VideoGenerationResponse
        body = {**body, "video": _from_text_media(body.get("video"))}
    response: Response = model.model_validate(body)
    response._keyed_urls = frozenset(document.get("keyed_urls") or ())
    return response


# Attributes some error classes set in their own __init__ (plain values).
_ERROR_EXTRAS = ("timeout_seconds", "reached_server", "retry_after")


def dump_error(error: TarashException, secrets: list[str]) -> str:
    """The error's class, message and context as JSON, scrubbed of every key."""
    metadata, handle = error.execution_metadata, error.job_handle
    document = {
        "type": type(error).__name__,
        "message": error.message,
        "provider": error.provider,
        "model": error.model,
        "status_code": error.status_code,
        "request_id": error.request_id,
        "retryable": error.retryable,
        "fallback_allowed": error.fallback_allowed,
        "job_may_exist": error.job_may_exist,
        "job_handle": None if handle is None else handle.model_dump(mode="json"),
        "execution_metadata": None if metadata is None else metadata.model_dump(mode="json"),
        "extras": {name: getattr(error, name) for name in _ERROR_EXTRAS if hasattr(error, name)},
    }
    return _scrubbed_json(document, secrets)


def load_error(text: str) -> TarashException:
    """The error written by :func:`dump_error`, as an instance of its class again."""
    document = json.loads(text)
    error_class = getattr(errors, str(document.get("type")), None)
    if not (isinstance(error_class, type) and issubclass(error_class, TarashException)):
        error_class = TarashException
    error = error_class.__new__(error_class)
    TarashException.__init__(
        error,
        document["message"],
        document.get("provider"),
        document.get("model"),
        document.get("request_id"),
        status_code=document.get("status_code"),
        retryable=document.get("retryable"),
        fallback_allowed=document.get("fallback_allowed"),
        job_may_exist=bool(document.get("job_may_exist")),
    )
    if document.get("job_handle") is not None:
        error.job_handle = JobHandle.model_validate(document["job_handle"])
    for name, value in (document.get("extras") or {}).items():
        if name in _ERROR_EXTRAS:
            setattr(error, name, value)
    if document.get("execution_metadata") is not None:
        error.execution_metadata = TypeAdapter(ExecutionMetadata).validate_python(
            document["execution_metadata"]
        )
    return error
