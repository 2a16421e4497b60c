"""``tarash batch jobs.jsonl --out DIR``: one request per line, resumable, with progress.

Each line is a JSON object: the request's fields (``prompt``, ``duration_seconds``,
``aspect_ratio``, ...) plus, optionally, ``key`` (carried to the result), ``kind``
(``video``/``image``), ``provider``, ``model``, ``fallbacks`` (``["P:M", ...]``) and
``image`` (a path, relative to the file, or a URL). What a line leaves out comes from the
command's options, then the routing file's ``[route]``; a line that names another provider
or kind than the command's names its model too (the command's model belongs to its own).

A line that cannot become a request (not UTF-8, not JSON, an unknown field, an empty
prompt, ...) fails alone: its error row (its line number and key) goes to the results and
the other lines run. Every message about a line names it by its number, from 1.

Lines that share a kind, provider, model and fallbacks run as one library batch
(:func:`~tarash.tarash_gateway.batch._batch.generate_videos_async`) with its own ledger under
``DIR/.ledger/``; every batch sees every line (the others' as placeholders that fail at
once and are ignored), so a request's ledger index is its line number whatever the other
lines hold, and fixing a bad line later shifts nothing. Results are appended to
``DIR/results.jsonl`` as they finish, with the files beside it; rerunning the same command
resumes (finished lines are read back from the ledgers, submitted jobs are waited on,
nothing is submitted twice).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pydantic
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from tarash.tarash_gateway.batch._batch import (
    BatchEvent,
    BatchResult,
    generate_images_async,
    generate_videos_async,
)
from tarash.tarash_gateway.cli._generate import Kind, file_stem, media_extension, parse_target
from tarash.tarash_gateway.cli._output import (
    EXIT_INTERRUPTED,
    CliError,
    error_line,
    exit_code_for,
    stderr_console,
    stdout_console,
)
from tarash.tarash_gateway.cli._routing import Route
from tarash.tarash_gateway.engine._sync import run_sync
from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers import get_provider_entry, provider_key

__all__ = [
    "EXIT_SOME_FAILED",
    "KEY_STEM_MAX",
    "BatchOptions",
    "LineError",
    "decode_line",
    "parse_line",
    "result_stem",
    "run_batch",
]

EXIT_SOME_FAILED = 12
"""Exit code of a batch in which some lines failed (the others succeeded)."""

RESULTS_FILE = "results.jsonl"
LEDGER_DIR = ".ledger"
# What another group's line is in a group's input: not a request, so the library fails it
# at once, before its ledger or any provider sees it (its result is recognised by its
# index, never by a key a user could also write).
_SKIP = None
_META = ("key", "kind", "provider", "model", "fallbacks", "image")
# A key's part of a file name, at most: with the line number in front, the extension and
# save()'s ".part" it stays far below the 255 bytes most file systems allow a name.
KEY_STEM_MAX = 100
# A ledger's file name stem, at most: the files SQLite and the lock put beside it
# ("<stem>.sqlite-journal", "<stem>.sqlite.lock") must fit in 255 bytes, and SQLite takes
# paths of 512 at most. Longer than any real target's (a Replicate model with its
# version is about 110), so an existing out folder still finds its ledgers.
_SLUG_MAX = 200
# How the library names a request of its input (0-based); see _for_line.
_LIBRARY_INDEX = re.compile(r"\brequests\[(\d+)\]")


class LineError(Exception):
    """A line that cannot become a request (malformed JSON, unknown provider, ...).

    Attributes:
        key: The line's key, when it could be read (its error row keeps it).
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """What ``tarash batch`` was asked to do."""

    source: Path
    out: Path
    concurrency: int
    route: Route


@dataclass(frozen=True, slots=True)
class _Target:
    kind: str
    provider: str
    model: str
    fallbacks: tuple[str, ...]
    timeout: float | None

    def slug(self) -> str:
        """The ledger's file name stem: readable, unique (a digest of the whole target) and
        short enough for a file name whatever the model id's length."""
        digest = hashlib.sha256(repr(self).encode()).hexdigest()[:10]
        readable = f"{self.kind}-{file_stem(self.provider)}-{file_stem(self.model)}"
        return f"{readable[: _SLUG_MAX - len(digest) - 1]}-{digest}"

    def config(self) -> VideoGenerationConfig | ImageGenerationConfig:
        extra: dict[str, Any] = {} if self.timeout is None else {"timeout": self.timeout}
        config_class = VideoGenerationConfig if self.kind == "video" else ImageGenerationConfig
        fallbacks = [parse_target(text) for text in self.fallbacks]
        return config_class(
            provider=self.provider,
            model=self.model,
            fallback_configs=[config_class(provider=p, model=m, **extra) for p, m in fallbacks]
            or None,
            **extra,
        )


_Parsed = tuple[_Target, str | None, VideoGenerationRequest | ImageGenerationRequest]
"""A line's target, its own key (``None`` if it gives none) and its request."""


def _pydantic_text(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the line"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _line_key(data: dict[str, Any]) -> str | None:
    """The line's own key (an int is its decimal text), ``None`` when it gives none.

    Raises:
        LineError: The key is neither a string nor an integer.
    """
    key = data.get("key")
    if key is None or key == "":
        return None
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise LineError(f"key must be a string, got {type(key).__name__}")
    text = str(key)
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
        # Written to results.jsonl and printed in one-line errors: no line break or other
        # control character, and no lone surrogate (a "\ud800" escape: not text at all).
        raise LineError(f"key must not hold control characters, got {text[:80]!a}")
    return text


def _salvaged_key(text: str) -> str | None:
    """The key of a line that failed before it was parsed, if it can be read at all."""
    try:
        data = json.loads(text)
        key = _line_key(data) if isinstance(data, dict) else None
    except (ValueError, RecursionError, LineError):
        return None
    # A key read through a replaced byte is not the user's: better none than a wrong one.
    return None if key is None or "\ufffd" in key else key


def decode_line(raw: bytes, *, first: bool) -> str:
    """One line of the file as text (a byte-order mark before the first one is dropped).

    Raises:
        LineError: The line is not UTF-8 (the error names the offending byte).
    """
    try:
        return raw.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        key = _salvaged_key(raw.decode("utf-8", "replace"))
        raise LineError(
            f"not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line); "
            "save the file as UTF-8",
            key=key,
        ) from None


def parse_line(text: str, route: Route, base: Path) -> _Parsed:
    """One line -> where it goes, its key and its request.

    Every check a request can be refused for before it is sent happens here, so that a
    bad line fails alone and nothing is submitted for it.

    Raises:
        LineError: The line is not a JSON object, names an unknown provider, lacks a
            provider or model, names a provider or kind without its model, or holds a
            malformed key or request field (the error keeps the key, when readable).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise LineError("not a request (nested too deeply)") from None
    except ValueError:
        # The one other refusal of json.loads: an integer of more digits than Python
        # converts (a guard against quadratic-time parsing).
        limit = sys.get_int_max_str_digits()
        raise LineError(f"not a request (a number of more than {limit} digits)") from None
    if not isinstance(data, dict):
        raise LineError(f"must be a JSON object, got {type(data).__name__}")
    key = _line_key(data)
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # "\ud800" escapes decode to lone surrogates: not text, and not writable as UTF-8.
        message = "holds a \\u escape of a lone surrogate, which is not text"
        raise LineError(message, key=key) from None
    try:
        return _parsed(data, key, route, base)
    except LineError as exc:
        exc.key = key
        raise


def _parsed(data: dict[str, Any], key: str | None, route: Route, base: Path) -> _Parsed:
    meta = {name: data.pop(name) for name in _META if name in data}
    kind = meta.get("kind", route.kind)
    if kind not in ("video", "image"):
        raise LineError(f"kind must be 'video' or 'image', got {kind!r}")
    provider = meta.get("provider", route.provider)
    model = meta.get("model", route.model)
    if not isinstance(provider, str) or not provider.strip():
        raise LineError("no provider: set it on the line, with --provider or in [route]")
    if not isinstance(model, str) or not model.strip():
        raise LineError("no model: set it on the line, with --model or in [route]")
    fallbacks = meta.get("fallbacks", list(route.fallbacks))
    if not isinstance(fallbacks, list) or not all(isinstance(item, str) for item in fallbacks):
        raise LineError('fallbacks must be a list of "PROVIDER:MODEL" strings')
    try:
        for name in [provider, *(parse_target(item, "fallbacks")[0] for item in fallbacks)]:
            get_provider_entry(name)
    except (TarashException, CliError) as exc:
        raise LineError(_message(exc)) from None
    if "model" not in meta:
        _check_default_model_fits(provider, kind, route)
    image = meta.get("image")
    if image is not None:
        role = "first_frame" if kind == "video" else "reference"
        data["image_list"] = [*_image_list(data), {"image": _image(image, base), "type": role}]
    target = _Target(kind, provider.strip(), model.strip(), tuple(fallbacks), route.timeout)
    request_class = VideoGenerationRequest if kind == "video" else ImageGenerationRequest
    try:
        # The config too: a model id the config refuses would otherwise fail the run of
        # every line of its group, not this line.
        target.config()
        request = request_class.model_validate(data)
    except pydantic.ValidationError as exc:
        raise LineError(f"invalid input: {_pydantic_text(exc)}") from None
    except TarashException as exc:
        # tarash's own ValidationError, from a model validator (an unknown field, an
        # empty prompt): pydantic lets it through as is.
        raise LineError(f"invalid input: {_message(exc)}") from None
    return target, key, request


def _message(error: TarashException | CliError) -> str:
    return " ".join(str(getattr(error, "message", error)).split())


def _check_default_model_fits(provider: str, kind: str, route: Route) -> None:
    """A line that names no model takes the command's, which was chosen for the command's
    provider and kind: on any other it would be another provider's model id (a paid job
    on the wrong model, where that provider happens to have one of the same name).

    Raises:
        LineError: The line names another provider or kind than the command's.
    """
    if route.provider is None:
        raise LineError(
            f"names provider {provider!r} but no model, and the command's model "
            f'({route.model}) is for no provider in particular; add "model" to the line'
        )
    if provider_key(provider) != provider_key(route.provider):
        raise LineError(
            f"names provider {provider!r} but no model: the command's model ({route.model}) "
            f'is {route.provider}\'s; add "model" to the line'
        )
    if kind != route.kind:
        raise LineError(
            f"names kind {kind!r} but no model: the command's model ({route.model}) is for "
            f'{route.kind}s; add "model" to the line'
        )


def _image_list(data: dict[str, Any]) -> list[Any]:
    given = data.get("image_list", [])
    if not isinstance(given, list):
        raise LineError(f"image_list must be a list, got {type(given).__name__}")
    return given


def _image(image: object, base: Path) -> str | Path:
    """The line's ``image``: a URL as given, a path made relative to the JSONL file.

    Raises:
        LineError: Neither a URL nor the path of a file.
    """
    if not isinstance(image, str):
        raise LineError("image must be a path or an http(s) URL")
    if image.startswith(("http://", "https://", "data:")):
        return image
    try:
        path = (base / image).expanduser()
        found = path.is_file()
    except (OSError, ValueError, RuntimeError) as exc:
        # A name too long, a NUL byte, "~nobody": no file, whatever the reason.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise LineError(f"image {image[:80]!r}: not a usable path ({reason})") from None
    if not found:
        raise LineError(f"image {image[:80]!r}: no such file")
    return path


def _for_line(message: str, line: int) -> str:
    """``message`` with the library's names of requests (``requests[11]``, counted from 0,
    as a Python caller's list is) said as a CLI user counts them: lines, from 1."""

    def named(match: re.Match[str]) -> str:
        number = int(match.group(1)) + 1
        return "this line" if number == line else f"line {number}"

    return _LIBRARY_INDEX.sub(named, message)


def result_stem(line: int, key: str | None) -> str:
    """The file name stem of a line's results: its number, then its key made safe for a
    file name (anything but letters, digits, ``.``, ``_`` and ``-`` becomes ``_``) and cut
    to :data:`KEY_STEM_MAX` characters, or ``line-N`` for a line without a key. The number
    keeps names unique, whatever the keys."""
    stem = file_stem(key)[:KEY_STEM_MAX].rstrip("._") if key is not None else f"line-{line}"
    return f"{line:05d}-{stem}"


@dataclass
class _Group:
    target: _Target
    start: int
    send: MemoryObjectSendStream[Any]
    receive: MemoryObjectReceiveStream[Any]
    # The group's own lines sent and not yet recorded: index -> the line's key. A result
    # whose index is not here is another group's line (a placeholder). Bounded by the
    # lines in flight, not the file.
    keys: dict[int, str | None] = field(default_factory=dict)


@dataclass
class _Tally:
    total: int
    done: int = 0
    failed: int = 0
    resumed: int = 0
    spend: float = 0.0
    unpriced: int = 0
    in_flight: set[tuple[str, int]] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)

    def fields(self) -> dict[str, Any]:
        minutes = max(time.monotonic() - self.started, 1e-9) / 60
        return {
            "running": len(self.in_flight),
            "failed": self.failed,
            "rate": f"{(self.done + self.failed - self.resumed) / minutes:.1f}",
            "spend": self.spend,
        }


class _Batch:
    """One ``tarash batch`` run: reads the lines, runs the groups, writes the results."""

    def __init__(self, options: BatchOptions, console: Console, total: int) -> None:
        self.options = options
        self.console = console
        self.tally = _Tally(total=total)
        self.groups: dict[_Target, _Group] = {}
        self.written = self._already_written()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("running {task.fields[running]} · failed {task.fields[failed]}"),
            TextColumn("{task.fields[rate]}/min"),
            TimeRemainingColumn(),
            TextColumn("spend ${task.fields[spend]:.2f}"),
            console=console,
            transient=False,
        )
        self.task: TaskID = self.progress.add_task("batch", total=total, **self.tally.fields())

    def _already_written(self) -> dict[int, bool]:
        # What earlier runs appended, so that a rerun adds only what is new or changed.
        found: dict[int, bool] = {}
        path = self.options.out / RESULTS_FILE
        if path.is_file():
            with path.open(encoding="utf-8") as lines:
                for text in lines:
                    try:
                        row = json.loads(text)
                        found[int(row["line"])] = bool(row["ok"])
                    except (ValueError, KeyError, TypeError):
                        continue
        return found

    def refresh(self) -> None:
        done = self.tally.done + self.tally.failed
        self.progress.update(self.task, completed=done, **self.tally.fields())

    async def write(self, row: dict[str, Any]) -> None:
        line = int(row["line"])
        if self.written.get(line) is row["ok"]:
            return
        self.written[line] = bool(row["ok"])
        async with await anyio.open_file(
            self.options.out / RESULTS_FILE, "a", encoding="utf-8"
        ) as sink:
            await sink.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")

    async def line_failed(
        self,
        line: int,
        key: str | None,
        message: str,
        code: int,
        found: dict[str, Any] | None = None,
    ) -> None:
        """Count, print and record a line that failed; ``found`` adds fields to its row."""
        self.tally.failed += 1
        self.console.print(f"[red]line {line}:[/] {escape(message)}", soft_wrap=True)
        error = {"message": message, "exit_code": code}
        await self.write({"line": line, "key": key, "ok": False, **(found or {}), "error": error})
        self.refresh()

    # -- events and results -------------------------------------------------------------

    def on_event(self, group: _Group) -> Any:
        slug = group.target.slug()

        def handle(event: BatchEvent) -> None:
            if event.index not in group.keys:
                return  # another group's line, failed at once as a placeholder
            slot = (slug, event.index)
            if event.kind == "submitted":
                self.tally.in_flight.add(slot)
            elif event.kind in ("done", "failed"):
                self.tally.in_flight.discard(slot)
            elif event.kind == "spend" and event.cost is not None:
                self.tally.spend += event.cost
            self.refresh()

        return handle

    async def record(self, result: BatchResult[Any], key: str | None) -> None:
        """Save and record one line's result (``key``: the line's own, or ``None``)."""
        line = result.index + 1
        if result.resumed:
            self.tally.resumed += 1
        if result.error is not None:
            error = result.error
            message = _for_line(error_line(error), line)
            await self.line_failed(line, key, message, exit_code_for(error))
            return
        response = result.unwrap()
        attempts = response.execution_metadata.attempts
        if not result.resumed and all(attempt.estimated_cost is None for attempt in attempts):
            self.tally.unpriced += 1  # no spend event comes for it: say so in the summary
        found = {
            "provider": response.provider,
            "model": response.model,
            "request_id": response.request_id,
        }
        try:
            files = await self._save(line, key, response)
        except (TarashException, OSError) as exc:
            # The job is done and paid, and its response is in the ledger: the batch goes
            # on, and a rerun reads the response back and saves again (no new job).
            message = (
                f"the result was made (request {response.request_id}) but could not be "
                f"saved: {error_line(exc)}; it is kept in the ledger, rerun the same "
                "command to save it again (nothing is paid twice)"
            )
            await self.line_failed(line, key, message, exit_code_for(exc), found)
            return
        self.tally.done += 1
        await self.write(
            {
                "line": line,
                "key": key,
                "ok": True,
                **found,
                "files": [path.name for path in files],
                "resumed": result.resumed,
                "execution_metadata": response.execution_metadata.model_dump(mode="json"),
            }
        )
        self.refresh()

    async def _save(
        self,
        line: int,
        key: str | None,
        response: VideoGenerationResponse | ImageGenerationResponse,
    ) -> list[Path]:
        stem = result_stem(line, key)
        out = self.options.out
        if isinstance(response, VideoGenerationResponse):
            media = response.video if not isinstance(response.video, dict) else b""
            path = out / f"{stem}{media_extension(media, response.content_type, Kind.video)}"
            if not await anyio.Path(path).is_file():
                await response.save_async(path)
            return [path]
        paths = []
        for index, image in enumerate(response.images):
            numbered = f"{stem}-{index}" if len(response.images) > 1 else stem
            path = out / f"{numbered}{media_extension(image, response.content_type, Kind.image)}"
            if not await anyio.Path(path).is_file():
                await response.save_async(path, index)
            paths.append(path)
        return paths

    # -- the run ------------------------------------------------------------------------

    async def _items(self, group: _Group) -> AsyncIterator[Any]:
        for _ in range(group.start):
            yield _SKIP
        async with group.receive:
            async for item in group.receive:
                yield item

    async def _run_group(self, group: _Group) -> None:
        target = group.target
        config = self.options.out / LEDGER_DIR / f"{target.slug()}.sqlite"
        start = generate_videos_async if target.kind == "video" else generate_images_async
        run = start(
            group.target.config(),  # type: ignore[arg-type]
            self._items(group),
            concurrency=self.options.concurrency,
            ledger=config,
            on_event=self.on_event(group),
        )
        async with run as results:
            async for result in results:
                if result.index in group.keys:
                    await self.record(result, group.keys.pop(result.index))

    async def _parse(self, line: int, raw: bytes) -> _Parsed | None:
        """The line's target, key and request; ``None`` for a blank line or a bad one
        (recorded as failed here: a bad line fails alone)."""
        try:
            text = decode_line(raw, first=line == 1)
            if not text.strip():
                self.tally.total -= 1
                self.progress.update(self.task, total=self.tally.total)
                return None
            return parse_line(text, self.options.route, self.options.source.parent)
        except LineError as exc:
            await self.line_failed(line, exc.key, str(exc), 2)
            return None

    async def run(self) -> None:
        (self.options.out / LEDGER_DIR).mkdir(parents=True, exist_ok=True)
        async with anyio.create_task_group() as tasks:
            line = 0
            # Read as bytes and decoded line by line: a line that is not UTF-8 fails alone.
            async with await anyio.open_file(self.options.source, "rb") as lines:
                async for raw in lines:
                    line += 1
                    parsed = await self._parse(line, raw)
                    target = parsed[0] if parsed is not None else None
                    if target is not None and target not in self.groups:
                        send, receive = anyio.create_memory_object_stream[Any](
                            self.options.concurrency
                        )
                        group = _Group(target, line - 1, send, receive)
                        self.groups[target] = group
                        tasks.start_soon(self._run_group, group)
                    for group in self.groups.values():
                        if parsed is not None and group.target == target:
                            _, key, request = parsed
                            # A line without a key goes without one: a key made up for it
                            # could be another line's own (the ledger refuses a key twice).
                            group.keys[line - 1] = key
                            await group.send.send(request if key is None else (key, request))
                        else:
                            await group.send.send(_SKIP)
            for group in self.groups.values():
                await group.send.aclose()


def _count_lines(path: Path) -> int:
    with path.open("rb") as source:
        return sum(1 for _ in source)


def run_batch(options: BatchOptions) -> int:
    """Run a batch file to the end (or Ctrl-C) and return the exit code.

    Raises:
        CliError: The file cannot be read.
    """
    if not options.source.is_file():
        raise CliError(f"{options.source}: no such file")
    options.out.mkdir(parents=True, exist_ok=True)
    err = stderr_console()
    batch = _Batch(options, err, _count_lines(options.source))
    try:
        with batch.progress:
            run_sync(batch.run)
    except KeyboardInterrupt:
        err.print(
            "interrupted: the jobs in flight were cancelled remotely (where the provider "
            "allows it); rerun the same command to resume, nothing finished is paid twice"
        )
        return EXIT_INTERRUPTED
    tally = batch.tally
    unpriced = f"; {tally.unpriced} lines without an estimate" if tally.unpriced else ""
    stdout_console().print(
        f"{tally.done} done, {tally.failed} failed ({tally.resumed} read back from an earlier "
        f"run); spend ${tally.spend:.2f} this run (estimated from the price table{unpriced}); "
        f"results in {options.out / RESULTS_FILE}",
        markup=False,
        soft_wrap=True,
    )
    return 0 if tally.failed == 0 else EXIT_SOME_FAILED
