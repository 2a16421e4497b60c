"""``tarash batch jobs.jsonl --out DIR``: one request per line, resumable, with progress.

Each line is a JSON object: the request's fields (``prompt``, ``duration_seconds``,
``aspect_ratio``, ...) plus, optionally, ``key`` (carried to the result), ``kind``
(``video``/``image``), ``provider``, ``model``, ``fallbacks`` (``["P:M", ...]``) and
``image`` (a path, relative to the file, or a URL). What a line leaves out comes from the
command's options, then the routing file's ``[route]``.

Lines that share a kind, provider, model and fallbacks run as one library batch
(:func:`~tarash.tarash_gateway._batch.generate_videos_async`) with its own ledger under
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
import time
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

from tarash.tarash_gateway._batch import (
    BatchEvent,
    BatchResult,
    generate_images_async,
    generate_videos_async,
)
from tarash.tarash_gateway._sync import run_sync
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
from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
)
from tarash.tarash_gateway.providers import get_provider_entry

__all__ = ["EXIT_SOME_FAILED", "BatchOptions", "LineError", "parse_line", "run_batch"]

EXIT_SOME_FAILED = 12
"""Exit code of a batch in which some lines failed (the others succeeded)."""

RESULTS_FILE = "results.jsonl"
LEDGER_DIR = ".ledger"
_SKIP = ("\x00skip", None)
_META = ("key", "kind", "provider", "model", "fallbacks", "image")


class LineError(Exception):
    """A line that cannot become a request (malformed JSON, unknown provider, ...)."""


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
        digest = hashlib.sha256(repr(self).encode()).hexdigest()[:10]
        return f"{self.kind}-{file_stem(self.provider)}-{file_stem(self.model)}-{digest}"

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


def _pydantic_text(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the line"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_line(
    text: str, route: Route, base: Path
) -> tuple[_Target, str | None, VideoGenerationRequest | ImageGenerationRequest]:
    """One line -> where it goes, its key and its request.

    Raises:
        LineError: The line is not a JSON object, names an unknown provider, lacks a
            provider or model, or holds a malformed request field.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise LineError(f"must be a JSON object, got {type(data).__name__}")
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
        raise LineError(str(exc)) from None
    key = meta.get("key")
    if key is not None and not isinstance(key, str | int):
        raise LineError(f"key must be a string, got {type(key).__name__}")
    image = meta.get("image")
    if image is not None:
        if not isinstance(image, str):
            raise LineError("image must be a path or an http(s) URL")
        given: str | Path = image
        if not image.startswith(("http://", "https://", "data:")):
            given = (base / image).expanduser()
            if not given.is_file():
                raise LineError(f"image {image!r}: no such file")
        role = "first_frame" if kind == "video" else "reference"
        data.setdefault("image_list", []).append({"image": given, "type": role})
    request_class = VideoGenerationRequest if kind == "video" else ImageGenerationRequest
    try:
        request = request_class.model_validate(data)
    except pydantic.ValidationError as exc:
        raise LineError(f"invalid input: {_pydantic_text(exc)}") from None
    target = _Target(kind, provider.strip(), model.strip(), tuple(fallbacks), route.timeout)
    return target, (str(key) if key is not None else None), request


@dataclass
class _Group:
    target: _Target
    start: int
    send: MemoryObjectSendStream[Any]
    receive: MemoryObjectReceiveStream[Any]


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

    async def line_failed(self, line: int, key: str | None, message: str, code: int) -> None:
        self.tally.failed += 1
        self.console.print(f"[red]line {line}:[/] {escape(message)}", soft_wrap=True)
        error = {"message": message, "exit_code": code}
        await self.write({"line": line, "key": key, "ok": False, "error": error})
        self.refresh()

    # -- events and results -------------------------------------------------------------

    def on_event(self, group: str) -> Any:
        def handle(event: BatchEvent) -> None:
            if event.key == _SKIP[0]:
                return
            if event.kind == "submitted":
                self.tally.in_flight.add((group, event.index))
            elif event.kind in ("done", "failed"):
                self.tally.in_flight.discard((group, event.index))
            elif event.kind == "spend" and event.cost is not None:
                self.tally.spend += event.cost
            self.refresh()

        return handle

    async def record(self, result: BatchResult[Any]) -> None:
        line = result.index + 1
        if result.resumed:
            self.tally.resumed += 1
        if result.error is not None:
            error = result.error
            await self.line_failed(line, result.key, error_line(error), exit_code_for(error))
            return
        response = result.unwrap()
        files = await self._save(line, result.key, response)
        self.tally.done += 1
        attempts = response.execution_metadata.attempts
        if not result.resumed and all(attempt.estimated_cost is None for attempt in attempts):
            self.tally.unpriced += 1  # no spend event comes for it: say so in the summary
        await self.write(
            {
                "line": line,
                "key": result.key,
                "ok": True,
                "provider": response.provider,
                "model": response.model,
                "request_id": response.request_id,
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
        stem = f"{line:05d}-{file_stem(key or response.request_id)}"
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
            on_event=self.on_event(target.slug()),
        )
        async with run as results:
            async for result in results:
                if result.key != _SKIP[0]:
                    await self.record(result)

    async def run(self) -> None:
        (self.options.out / LEDGER_DIR).mkdir(parents=True, exist_ok=True)
        base = self.options.source.parent
        async with anyio.create_task_group() as tasks:
            index = 0
            async with await anyio.open_file(self.options.source, encoding="utf-8") as lines:
                async for text in lines:
                    index += 1
                    parsed = None
                    if text.strip():
                        try:
                            parsed = parse_line(text, self.options.route, base)
                        except LineError as exc:
                            await self.line_failed(index, None, str(exc), 2)
                    else:
                        self.tally.total -= 1
                        self.progress.update(self.task, total=self.tally.total)
                    target = parsed[0] if parsed is not None else None
                    if target is not None and target not in self.groups:
                        send, receive = anyio.create_memory_object_stream[Any](
                            self.options.concurrency
                        )
                        group = _Group(target, index - 1, send, receive)
                        self.groups[target] = group
                        tasks.start_soon(self._run_group, group)
                    for group in self.groups.values():
                        if parsed is not None and group.target == target:
                            await group.send.send((parsed[1] or f"line-{index}", parsed[2]))
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
