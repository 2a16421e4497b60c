"""``tarash jobs status|wait|cancel``: the job-handle API from a shell.

A handle is the JSON of a :class:`~tarash.tarash_gateway.models.JobHandle` (what
``submit_video(...).model_dump_json()`` writes), given inline or as a file path; an object
holding one under ``"job_handle"`` or ``"handle"`` (a JSON error of ``tarash generate``, a
batch result line) is read too. The key comes from the provider's environment variable and
the handle's base URL must be the provider's API or ``TARASH_<PROVIDER>_BASE_URL``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
from rich.live import Live

from tarash.tarash_gateway.api import cancel, status, wait
from tarash.tarash_gateway.cli._generate import StatusLine, response_summary, saved_files
from tarash.tarash_gateway.cli._output import (
    EXIT_INTERRUPTED,
    CliError,
    fail,
    metadata_table,
    print_json,
    stderr_console,
    stdout_console,
)
from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.models import JobHandle

__all__ = ["read_handle", "run_cancel", "run_status", "run_wait"]


def read_handle(text: str) -> JobHandle:
    """The handle in ``text``: inline JSON, or the path of a file holding it.

    Raises:
        CliError: ``text`` is neither JSON nor a readable file, or holds no job handle.
    """
    stripped = text.strip()
    if not stripped.startswith("{"):
        path = Path(stripped).expanduser()
        try:
            stripped = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(
                f"HANDLE_OR_FILE {text!r}: neither handle JSON nor a readable file "
                f"({exc.strerror or exc})"
            ) from None
    try:
        data: Any = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise CliError(f"HANDLE_OR_FILE: not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict):
        for wrapper in ("job_handle", "handle"):
            if isinstance(data.get(wrapper), dict):
                data = data[wrapper]
                break
        if isinstance(data.get("error"), dict) and isinstance(
            data["error"].get("job_handle"), dict
        ):
            data = data["error"]["job_handle"]
    try:
        return JobHandle.model_validate(data)
    except pydantic.ValidationError as exc:
        fields = ", ".join(".".join(map(str, error["loc"])) or "the JSON" for error in exc.errors())
        raise CliError(f"HANDLE_OR_FILE is no job handle (missing or invalid: {fields})") from None


def _load(text: str, as_json: bool) -> JobHandle:
    try:
        return read_handle(text)
    except CliError as exc:
        fail(exc, as_json=as_json)


def run_status(text: str, *, as_json: bool) -> None:
    """Ask once where the job stands and print it."""
    handle = _load(text, as_json)
    try:
        update = status(handle)
    except TarashException as exc:
        fail(exc, as_json=as_json)
    data = update.model_dump(mode="json", exclude={"result", "update"})
    if as_json:
        print_json(data)
        return
    parts = [f"{handle.provider} {handle.model} {handle.request_id}: {update.status}"]
    if update.queue_position is not None:
        parts.append(f"queue position {update.queue_position}")
    if update.progress_percent is not None:
        parts.append(f"{update.progress_percent}%")
    if update.error:
        parts.append(update.error)
    stdout_console().print(" · ".join(parts), markup=False)


def run_wait(text: str, *, out: Path, timeout: float | None, as_json: bool) -> None:
    """Wait for the job, save its files under ``out`` and print the summary."""
    handle = _load(text, as_json)
    err = stderr_console()
    line = None if as_json else StatusLine(handle.provider, handle.model)
    try:
        if line is None:
            response = wait(handle, timeout=timeout)
        else:
            with Live(line, console=err, refresh_per_second=8, transient=True):
                response = wait(handle, timeout=timeout, on_progress=line.update)
        files = saved_files(response, out)
    except KeyboardInterrupt:
        err.print("interrupted: the remote job was cancelled (where the provider allows it)")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except TarashException as exc:
        fail(exc, as_json=as_json)
    summary = response_summary(response, files)
    if as_json:
        print_json(summary)
        return
    console = stdout_console()
    saved = ", ".join(map(str, files))
    console.print(f"done {handle.provider} {handle.model}: {saved}", markup=False)
    console.print(metadata_table(response.execution_metadata))


def run_cancel(text: str, *, as_json: bool) -> None:
    """Ask the provider to cancel the job and say whether it accepted."""
    handle = _load(text, as_json)
    try:
        accepted = cancel(handle)
    except TarashException as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({"request_id": handle.request_id, "cancelled": accepted})
        return
    verdict = "cancelled" if accepted else "not cancelled (finished already, or no cancel)"
    stdout_console().print(f"{handle.provider} {handle.request_id}: {verdict}", markup=False)
