"""The typer application: each command's options, delegated to the module that runs it."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from tarash.tarash_gateway.cli import _catalog, _handles
from tarash.tarash_gateway.cli._batch_cmd import BatchOptions, run_batch
from tarash.tarash_gateway.cli._emulator import run_emulator
from tarash.tarash_gateway.cli._generate import GenerateOptions, Kind, run_generate
from tarash.tarash_gateway.cli._output import (
    CliError,
    checked_seconds,
    fail,
    print_json,
    stdout_console,
    writable_folder,
)
from tarash.tarash_gateway.cli._routing import Route, load_routing
from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.routing._catalog import model_rows, provider_rows

__all__ = ["build_app"]

_DISTRIBUTION = "tarash-gateway"


def _no_flag_metavar(params: list[Any]) -> list[Any]:
    # typer labels every option with its type, flags included (``--json <bool>``), as if
    # they took a value; a flag takes none, so it is shown with no label.
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Command(TyperCommand):
    """A command whose help shows no ``<bool>`` after a flag."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The command's parameters, flags without a type label."""
        return _no_flag_metavar(super().get_params(ctx))


class _Group(TyperGroup):
    """A group whose help shows no ``<bool>`` after a flag (``--help``, ``--version``)."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The group's parameters, flags without a type label."""
        return _no_flag_metavar(super().get_params(ctx))


def _version() -> str:
    try:
        return importlib.metadata.version(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def _show_version(value: bool) -> None:
    if value:
        print(f"tarash {_version()}")
        raise typer.Exit()


def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version of tarash and exit.",
        ),
    ] = False,
) -> None:
    """Generate videos and images across AI providers, in batches or one at a time."""


_JSON = typer.Option("--json", help="Print machine-readable JSON only (no colour, no table).")


def _providers(json_output: Annotated[bool, _JSON] = False) -> None:
    """List every provider: what it makes, where its key and base URL come from."""
    rows = provider_rows()
    if json_output:
        print_json([row.as_json() for row in rows])
    else:
        cells = [_catalog.provider_cells(row) for row in rows]
        _catalog.print_catalog(
            stdout_console(), _catalog.providers_table(rows), _catalog.PROVIDER_HEADERS, cells
        )


def _models(
    provider: Annotated[
        str | None, typer.Argument(help="Only this provider's models (default: all).")
    ] = None,
    kind: Annotated[Kind | None, typer.Option(help="Only video or only image models.")] = None,
    json_output: Annotated[bool, _JSON] = False,
) -> None:
    """List the registered models and what each accepts (what validation checks)."""
    try:
        rows = model_rows(provider, kind.value if kind is not None else None)
    except TarashException as exc:
        fail(exc, as_json=json_output)
    if json_output:
        print_json([row.as_json() for row in rows])
    else:
        cells = [_catalog.model_cells(row) for row in rows]
        _catalog.print_catalog(
            stdout_console(), _catalog.models_table(rows), _catalog.MODEL_HEADERS, cells
        )


def _generate(
    kind: Annotated[Kind, typer.Argument(help="video or image.")],
    provider: Annotated[str, typer.Option(help="Provider name, e.g. fal.")],
    model: Annotated[str, typer.Option(help="The provider's model id, e.g. fal-ai/veo3.")],
    prompt: Annotated[str, typer.Option(help="What to generate.")],
    duration: Annotated[int | None, typer.Option(help="Video length in seconds.")] = None,
    aspect_ratio: Annotated[str | None, typer.Option(help="e.g. 16:9, 9:16, 1:1.")] = None,
    resolution: Annotated[str | None, typer.Option(help="Video resolution, e.g. 720p.")] = None,
    image: Annotated[
        str | None, typer.Option(help="An input image: a file path or an http(s) URL.")
    ] = None,
    fallback: Annotated[
        list[str] | None,
        typer.Option(help="PROVIDER:MODEL to fall back to, in order (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder the files are saved in.")] = Path("."),
    timeout: Annotated[
        float | None, typer.Option(help="Seconds each attempt may take (its deadline).")
    ] = None,
    json_output: Annotated[bool, _JSON] = False,
) -> None:
    """Generate one video or image, show its progress, save it and print its metadata.

    Keys come from the environment only (FAL_KEY, REPLICATE_API_TOKEN, ...); point a
    provider at the emulator with TARASH_<PROVIDER>_BASE_URL.
    """
    try:
        checked_seconds(timeout, "--timeout")
        writable_folder(out)
    except CliError as exc:
        fail(exc, as_json=json_output)
    options = GenerateOptions(
        kind=kind,
        provider=provider,
        model=model,
        prompt=prompt,
        duration=duration,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        image=image,
        fallbacks=fallback or [],
        timeout=timeout,
    )
    run_generate(options, out, as_json=json_output)


def _emulator(
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8787,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    tls: Annotated[bool, typer.Option("--tls", help="Serve HTTPS with a generated CA.")] = False,
    latency: Annotated[
        str | None,
        typer.Option(help="Job latency: QUEUE,RUN[,JITTER] seconds, or queue=..,run=..,jitter=.."),
    ] = None,
    tail_fraction: Annotated[
        float | None,
        typer.Option(help="Share of the jobs (0 to 1) that run --tail-seconds (a heavy tail)."),
    ] = None,
    tail_seconds: Annotated[
        float | None, typer.Option(help="How long a slow job of the tail runs.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed the draws: the same jobs are slow each run.")
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help=escape(
                "Inject a fault (repeatable): KIND[,provider=P][,operation=O]"
                "[,times=N|always][,status=CODE][,retry_after=S][,model=M]"
            )
        ),
    ] = None,
    any_key: Annotated[
        bool,
        typer.Option(
            "--any-key",
            help="Accept any non-empty API key (by default only the printed keys, as a real "
            "provider accepts only its own).",
        ),
    ] = False,
) -> None:
    """Run the provider emulator in the foreground and print how to point clients at it."""
    try:
        run_emulator(
            host=host,
            port=port,
            tls=tls,
            latency=latency,
            faults=fault or [],
            tail_fraction=tail_fraction,
            tail_seconds=tail_seconds,
            seed=seed,
            any_key=any_key,
        )
    except CliError as exc:
        fail(exc)


_HANDLE = typer.Argument(
    help="A job handle: its JSON inline, or a file holding it.", metavar="HANDLE_OR_FILE"
)


def _jobs_status(
    handle: Annotated[str, _HANDLE], json_output: Annotated[bool, _JSON] = False
) -> None:
    """Ask the provider once where a job stands."""
    _handles.run_status(handle, as_json=json_output)


def _jobs_wait(
    handle: Annotated[str, _HANDLE],
    out: Annotated[Path, typer.Option(help="Folder the files are saved in.")] = Path("."),
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait.")] = None,
    json_output: Annotated[bool, _JSON] = False,
) -> None:
    """Wait for a job, save its files and print its metadata."""
    try:
        checked_seconds(timeout, "--timeout")
        writable_folder(out)
    except CliError as exc:
        fail(exc, as_json=json_output)
    _handles.run_wait(handle, out=out, timeout=timeout, as_json=json_output)


def _jobs_cancel(
    handle: Annotated[str, _HANDLE], json_output: Annotated[bool, _JSON] = False
) -> None:
    """Ask the provider to cancel a job."""
    _handles.run_cancel(handle, as_json=json_output)


def _batch(
    source: Annotated[
        Path, typer.Argument(help="One JSON request per line.", metavar="JOBS.jsonl")
    ],
    out: Annotated[Path, typer.Option(help="Folder for results.jsonl, the files and the ledger.")],
    concurrency: Annotated[
        int, typer.Option(min=1, max=10_000, help="Jobs in flight at once.")
    ] = 8,
    config: Annotated[
        Path | None,
        typer.Option(
            # Escaped: help is rich markup, which would take [route] for a style tag and
            # print nothing in its place.
            help=escape(
                "Routing TOML: [route], strategy, spend_cap, [hedge], [limits.*], "
                "[breakers], [prices.*]."
            )
        ),
    ] = None,
    kind: Annotated[Kind | None, typer.Option(help="Default kind of the lines.")] = None,
    provider: Annotated[str | None, typer.Option(help="Default provider of the lines.")] = None,
    model: Annotated[str | None, typer.Option(help="Default model of the lines.")] = None,
    fallback: Annotated[
        list[str] | None, typer.Option(help="Default PROVIDER:MODEL fallbacks (repeatable).")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds each attempt may take.")] = None,
) -> None:
    """Run a JSONL file of requests; rerun the same command to resume after a stop."""
    try:
        # Checked before the run: found inside it, a bad value would stop the batch with
        # its jobs half-submitted.
        checked_seconds(timeout, "--timeout")
        routing = load_routing(config) if config is not None else None
        base = routing.route if routing is not None else Route()
        route = Route(
            kind=kind.value if kind is not None else base.kind,
            provider=provider or base.provider,
            model=model or base.model,
            fallbacks=tuple(fallback) if fallback else base.fallbacks,
            timeout=timeout if timeout is not None else base.timeout,
        )
        writable_folder(out)
        if routing is not None:
            routing.apply()
        code = run_batch(BatchOptions(source, out, concurrency, route))
    except (CliError, TarashException) as exc:
        fail(exc)
    raise typer.Exit(code)


def build_app() -> typer.Typer:
    """The ``tarash`` command and its subcommands."""
    app = typer.Typer(
        name="tarash",
        help="Generate videos and images across AI providers, in batches or one at a time.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        cls=_Group,
    )
    app.callback()(_main)
    app.command("providers", cls=_Command)(_providers)
    app.command("models", cls=_Command)(_models)
    app.command("generate", cls=_Command)(_generate)
    app.command("batch", cls=_Command)(_batch)
    app.command("emulator", cls=_Command)(_emulator)
    jobs = typer.Typer(
        name="jobs",
        help="Follow a submitted job by its handle.",
        no_args_is_help=True,
        cls=_Group,
    )
    jobs.command("status", cls=_Command)(_jobs_status)
    jobs.command("wait", cls=_Command)(_jobs_wait)
    jobs.command("cancel", cls=_Command)(_jobs_cancel)
    app.add_typer(jobs)
    return app
