"""What every command prints: one-line errors with an exit code per class, JSON, tables.

Results go to stdout, live status and errors to stderr, so ``tarash ... --json | jq``
reads clean JSON. ``--json`` output is plain ``json.dumps`` text, never rich markup.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pydantic
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tarash.tarash_gateway import errors
from tarash.tarash_gateway._validate import check_seconds
from tarash.tarash_gateway.models import ExecutionMetadata

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERRUPTED",
    "EXIT_UNKNOWN",
    "CliError",
    "checked_seconds",
    "cli_advice",
    "error_line",
    "exit_code_for",
    "fail",
    "install_diagnostics",
    "metadata_table",
    "print_json",
    "stderr_console",
    "stdout_console",
    "writable_folder",
]

EXIT_UNKNOWN = 1
"""Exit code of a failure that is no tarash error (a bug, most likely)."""
EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT, as shells report it)."""

EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (pydantic.ValidationError, 2),
    (errors.ValidationError, 2),
    (errors.AuthenticationError, 3),
    (errors.InsufficientCreditError, 4),
    (errors.RateLimitError, 5),
    (errors.ContentModerationError, 6),
    (errors.GenerationFailedError, 7),
    (errors.TimeoutError, 8),
    (errors.NotFoundError, 9),
    (errors.HTTPConnectionError, 10),
    (errors.ProviderServerError, 10),
    (errors.HTTPError, 10),
    (errors.TarashException, 11),
)
"""Error class -> exit code, the first match wins (subclasses come before their bases).

2 bad input (nothing was submitted), 3 no or wrong key, 4 out of credit, 5 rate limited,
6 refused by moderation, 7 the job failed or was cancelled, 8 deadline passed, 9 unknown
model or job, 10 provider unreachable or erroring, 11 another tarash error."""


class CliError(Exception):
    """A usage problem found by the command line itself (a file that is not there)."""

    exit_code = 2


def checked_seconds(value: float | None, option: str) -> float | None:
    """``value`` if it is a usable number of seconds (or None), checked before anything runs.

    Raises:
        CliError: It is zero, negative, not finite or beyond tarash's 30-day ceiling.
    """
    if value is None:
        return None
    try:
        return check_seconds(value, option)
    except errors.ValidationError as exc:
        raise CliError(exc.message) from None


def writable_folder(path: Path, option: str = "--out") -> Path:
    """Make sure ``path`` is a folder tarash can write files in, before anything is sent.

    Checked up front because a job found out only after it ran (and was paid for) would
    have nowhere to be saved. The folder is created if missing.

    Raises:
        CliError: ``path`` is a file, cannot be created or cannot be written in.
    """
    if path.exists() and not path.is_dir():
        raise CliError(f"{option} {path}: not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Writing is the only reliable test (os.access ignores ACLs, read-only mounts
        # and root's privileges alike).
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CliError(f"{option} {path}: cannot write there ({reason})") from None
    return path


def exit_code_for(error: BaseException) -> int:
    """The exit code of ``error`` (see :data:`EXIT_CODES`)."""
    if isinstance(error, CliError):
        return error.exit_code
    for error_class, code in EXIT_CODES:
        if isinstance(error, error_class):
            return code
    return EXIT_UNKNOWN


_CLI_ADVICE: tuple[tuple[re.Pattern[str], str], ...] = (
    # The command has no --api-key (a key would land in shell history): the environment
    # is the only place a CLI user can put one.
    (
        re.compile(r"pass api_key in the config or set (?P<names>[^.;]+)"),
        r"set \g<names> in the environment (the command reads keys only from there)",
    ),
    (
        re.compile(r"set base_url \(e\.g\. (?P<example>'[^']*')\) or AZURE_OPENAI_ENDPOINT"),
        r"set AZURE_OPENAI_ENDPOINT (or TARASH_AZURE_OPENAI_BASE_URL) in the environment, "
        r"e.g. \g<example>",
    ),
    (
        re.compile(r"\(provider='(?P<provider>[a-z_]+)'\)"),
        r"(--provider \g<provider>)",
    ),
    (
        re.compile(r"an OpenAI-compatible endpoint set by base_url"),
        "an OpenAI-compatible endpoint set by TARASH_OPENAI_BASE_URL",
    ),
    # A batch line caught in flight by an earlier run: the command keeps that row as it
    # is on every rerun, so a fresh --out (which starts a ledger of its own) is how a CLI
    # user sends it anyway.
    (
        re.compile(r"to send it anyway, reset its ledger row \(LedgerEntry\.reset\)"),
        "to send it anyway, put that line in a file of its own and run it with another --out",
    ),
)
"""The library's advice to a Python caller (a config field to pass) -> what a user of the
command does instead (an environment variable, an option). The library keeps its wording
for its own users; only the command's lines are rewritten."""


def cli_advice(message: str) -> str:
    """``message`` with advice about the Python API rewritten for a command-line user."""
    for pattern, replacement in _CLI_ADVICE:
        message = pattern.sub(replacement, message)
    return message


def _pydantic_line(error: pydantic.ValidationError, options: Mapping[str, str]) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    named = options.get(field.partition(".")[0], field or error.title)
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{named}: {first['msg']}{more}"


def error_line(error: BaseException, options: Mapping[str, str] | None = None) -> str:
    """One line saying what went wrong, never a traceback and never a secret.

    Args:
        error: What was raised.
        options: Request or config field -> the command-line option that sets it, so
            that a pydantic error names ``--duration`` rather than ``duration_seconds``.
    """
    if isinstance(error, pydantic.ValidationError):
        return f"invalid input: {_pydantic_line(error, options or {})}"
    if isinstance(error, errors.TarashException):
        where = "/".join(part for part in (error.provider, error.model) if part)
        origin = f" [{where}]" if where else ""
        text = cli_advice(" ".join(error.message.split()))
        return f"{type(error).__name__}{origin}: {text}"
    if isinstance(error, CliError):
        return str(error)
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def stdout_console() -> Console:
    """The console results are printed to."""
    return Console(highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    """The console live status and errors are printed to."""
    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Write ``data`` as one JSON document on stdout (no markup, no colour)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail(
    error: BaseException,
    *,
    as_json: bool = False,
    options: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> NoReturn:
    """Report ``error`` in one line (or as JSON) and exit with its code.

    Args:
        error: What was raised.
        as_json: Print ``{"error": {...}}`` on stdout instead of a line on stderr.
        options: See :func:`error_line`.
        extra: More fields for the JSON error (execution metadata, a job handle).

    Raises:
        typer.Exit: Always.
    """
    code = exit_code_for(error)
    line = error_line(error, options)
    if as_json:
        body: dict[str, Any] = {"type": type(error).__name__, "message": line, "exit_code": code}
        if isinstance(error, errors.TarashException):
            body.update(provider=error.provider, model=error.model, request_id=error.request_id)
        body.update(extra or {})
        print_json({"error": body})
    else:
        stderr_console().print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True)
    raise typer.Exit(code)


class _CliFormatter(logging.Formatter):
    """Formats a log note with its advice rewritten for a command-line user."""

    def format(self, record: logging.LogRecord) -> str:
        """The note, through :func:`cli_advice`."""
        return cli_advice(super().format(record))


class _StderrNow(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is at each record, not as it was at start: a rich live
    display swaps in a proxy that prints above the display, so a note gets its own line
    instead of being glued to the status line."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        del value  # always the current sys.stderr


def install_diagnostics() -> None:
    """Show tarash's log warnings and Python warnings as one ``note:``/``warning:`` line each
    on stderr, instead of the logging module's bare text and ``warnings``' file:line noise."""
    handler = _StderrNow()
    handler.setFormatter(_CliFormatter("note: %(message)s"))
    logger = logging.getLogger("tarash")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    # stamina logs each retry it schedules ("stamina.retry_scheduled", its details in the
    # record's extras) as a warning; with no handler of its own, Python's last-resort
    # handler printed it as a bare line. The retries are tarash's business: the failure,
    # if they all fail, is the command's one error line.
    retries = logging.getLogger("stamina")
    retries.addHandler(logging.NullHandler())
    retries.propagate = False

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        sys.stderr.write(f"warning: {cli_advice(' '.join(str(message).split()))}\n")

    warnings.showwarning = show


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "; ".join(str(item) for item in value) or "-"
    return str(value)


def metadata_table(metadata: ExecutionMetadata) -> Table:
    """The execution metadata as a table: one row per attempt."""
    table = Table(
        title=(
            f"execution metadata: {metadata.total_attempts} attempt(s), "
            f"{metadata.total_elapsed_seconds:.2f} s"
            + (", fallback triggered" if metadata.fallback_triggered else "")
        ),
        title_justify="left",
    )
    for column in ("#", "provider", "model", "status", "seconds", "request id", "HTTP"):
        table.add_column(column)
    table.add_column("notes", overflow="fold")
    for attempt in metadata.attempts:
        notes = [*attempt.adaptations]
        if attempt.error_message:
            notes.append(f"{attempt.error_type}: {attempt.error_message}")
        table.add_row(
            str(attempt.attempt_number),
            escape(attempt.provider),
            escape(attempt.model),
            attempt.status,
            _cell(attempt.elapsed_seconds),
            escape(_cell(attempt.request_id)),
            str(attempt.http_requests),
            escape(_cell(notes)),
        )
    return table
