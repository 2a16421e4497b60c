"""``tarash emulator``: run the bundled emulator and say how to point clients at it.

Serving is ``tarash-emulator``'s own loop (:func:`tarash.emulator.__main__.serve`); this
module adds the ``--latency`` and ``--fault`` syntax, the how-to for tarash and for each
official SDK (their base-URL environment variables or constructor arguments), and, on
Ctrl+C, the emulator's accounting: the jobs it saw, how each ended, and how many identical
inputs were submitted more than once (a batch that resumed cleanly has none).
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from collections.abc import Iterator
from typing import Any, cast, get_args

from tarash.tarash_gateway.cli._output import CliError
from tarash.tarash_gateway.providers import get_provider_class

__all__ = ["accounting", "instructions", "parse_fault", "parse_latency", "run_emulator"]

_LATENCY_NAMES = ("queue", "run", "jitter")
_FAULT_KEYS = {
    "provider": "provider",
    "operation": "operation",
    "times": "times",
    "status": "status_code",
    "status_code": "status_code",
    "retry_after": "retry_after",
    "model": "model",
}
_FOREVER = ("always", "forever", "none")
_LIVE = frozenset({"queued", "running", "succeeded"})


_MAX_PORT = 65_535


def parse_latency(text: str) -> Any:
    """``"0.5,2"`` or ``"queue=0.5,run=2,jitter=0.1"`` -> a :class:`~tarash.emulator.Latency`.

    Raises:
        CliError: Not numbers, an unknown name, or a negative value.
    """
    # Imported here: the emulator is an optional extra (starlette, uvicorn); the command
    # loads without it.
    from tarash.emulator import Latency

    values: dict[str, Any] = {}
    for position, part in enumerate(piece.strip() for piece in text.split(",")):
        name, sep, number = part.partition("=")
        if not sep:
            name, number = (_LATENCY_NAMES[position] if position < 3 else "?"), part
        name = name.strip().removesuffix("_seconds")
        if name not in _LATENCY_NAMES:
            raise CliError(f"--latency {text!r}: write QUEUE,RUN[,JITTER] seconds or queue=..")
        try:
            values[f"{name}_seconds"] = float(number)
        except ValueError:
            raise CliError(f"--latency {text!r}: {number.strip()!r} is not a number") from None
    try:
        return Latency(**values)
    except ValueError as exc:
        raise CliError(f"--latency {text!r}: {exc}") from None


def parse_fault(text: str) -> Any:
    """``"rate_limit,provider=fal,operation=submit,times=3"`` -> a :class:`~tarash.emulator.Fault`.

    The kind comes first; then any of ``provider``, ``operation``, ``times`` (a count, or
    ``always``), ``status``, ``retry_after`` and ``model``.

    Raises:
        CliError: An unknown kind or key, or a value the emulator refuses.
    """
    # Imported here: the emulator is an optional extra (starlette, uvicorn); the command
    # loads without it.
    from tarash.emulator import Fault, FaultKind

    kind, *pairs = (piece.strip() for piece in text.split(","))
    kinds = get_args(FaultKind)
    if kind not in kinds:
        raise CliError(f"--fault {text!r}: unknown kind {kind!r}; use one of {', '.join(kinds)}")
    fields: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        field = _FAULT_KEYS.get(key.strip())
        if not sep or field is None:
            raise CliError(
                f"--fault {text!r}: {pair!r} is not one of "
                f"{', '.join(sorted(set(_FAULT_KEYS)))} as key=value"
            )
        value = value.strip()
        try:
            if field == "times":
                fields[field] = None if value.lower() in _FOREVER else int(value)
            elif field == "status_code":
                fields[field] = int(value)
            elif field == "retry_after":
                fields[field] = float(value)
            else:
                fields[field] = value
        except ValueError:
            raise CliError(f"--fault {text!r}: {key.strip()}={value!r} is not a number") from None
    try:
        return Fault(cast("FaultKind", kind), **fields)
    except ValueError as exc:
        raise CliError(f"--fault {text!r}: {exc}") from None


def instructions(emu: Any) -> Iterator[str]:
    """How to point tarash and each official SDK at the running ``emu``."""
    # Imported here: the emulator is an optional extra (starlette, uvicorn); the command
    # loads without it.
    from tarash.emulator._app import PROVIDERS

    url = emu.url

    def key(provider: str) -> str:
        return shlex.quote(str(emu.api_key(provider)))

    yield ""
    yield "Point tarash at it (keys come from the environment; these are the emulator's):"
    for provider in PROVIDERS:
        # The first variable tarash reads the key from (the official SDK's name).
        variable = get_provider_class(provider).key_env_vars[0]
        base = shlex.quote(emu.base_url(provider))
        yield f"  export TARASH_{provider.upper()}_BASE_URL={base} {variable}={key(provider)}"
    # Vertex AI with a project (api_key=None, as the published package selects it) sends an
    # access token: the emulator's Google key stands for one.
    google_base = shlex.quote(emu.base_url("google"))
    yield (
        f"  export TARASH_GOOGLE_BASE_URL={google_base} GOOGLE_OAUTH_ACCESS_TOKEN={key('google')}"
        "  (Vertex AI: api_key=None, provider_config project and location)"
    )
    yield "  then, in another terminal:"
    yield (
        "  tarash generate video --provider fal --model fal-ai/veo3 "
        '--prompt "a cat playing piano" --duration 5'
    )
    yield '  or in code: VideoGenerationConfig(provider="fal", model="fal-ai/veo3", '
    yield f'             base_url="{emu.base_url("fal")}", api_key="{emu.api_key("fal")}")'
    yield ""
    yield "Point the official SDKs at it:"
    yield (
        f"  fal-client    export FAL_KEY={key('fal')}; then in Python: "
        f'fal_client.client.QUEUE_URL_FORMAT = "{emu.base_url("fal")}/"'
    )
    yield (
        f"  replicate     export REPLICATE_BASE_URL={emu.base_url('replicate')} "
        f"REPLICATE_API_TOKEN={key('replicate')}  (or replicate.Client(base_url=..., "
        "api_token=...))"
    )
    yield (
        f"  openai        export OPENAI_BASE_URL={emu.base_url('openai')} "
        f"OPENAI_API_KEY={key('openai')}  (or OpenAI(base_url=..., api_key=...))"
    )
    yield (
        f'  azure openai  OpenAI(base_url="{emu.base_url("azure_openai")}/openai/v1", '
        f'api_key=...), or AzureOpenAI(azure_endpoint="{emu.base_url("azure_openai")}", '
        'api_version="2025-04-01-preview", api_key=...)'
    )
    yield (
        f"  runwayml      export RUNWAYML_BASE_URL={emu.base_url('runway')} "
        f"RUNWAYML_API_SECRET={key('runway')}  (or RunwayML(base_url=..., api_key=...))"
    )
    yield (
        f"  google-genai  export GOOGLE_GEMINI_BASE_URL={url}/google "
        f"GEMINI_API_KEY={key('google')}  (or genai.Client(api_key=..., "
        "http_options=types.HttpOptions(base_url=...)))"
    )
    yield (
        f'  xai (images)  OpenAI(base_url="{emu.base_url("xai")}", api_key={key("xai")}) '
        "for images.generate (xAI's images API is OpenAI-compatible; videos: REST)"
    )
    yield (
        "  stability     no official SDK for v2beta: POST "
        f"{emu.base_url('stability')}/v2beta/stable-image/generate/core "
        "with Authorization: Bearer <key>"
    )
    if emu.tls:
        yield f"  (HTTPS: export SSL_CERT_FILE={emu.ca_path} so clients trust its CA)"
    yield ""


def _totals(stats: Any) -> str:
    return (
        f"submitted {stats.submitted}: completed {stats.completed}, failed {stats.failed}, "
        f"cancelled {stats.cancelled}, still running {stats.running}"
    )


def accounting(emu: Any) -> Iterator[str]:
    """What ``emu`` saw: job totals, per provider/model, and repeated identical inputs.

    A repeated input is one provider/model receiving the same request body more than once:
    a batch whose lines are all different and that resumed without resubmitting has none.
    """
    jobs = emu.jobs()
    yield "Accounting (every job the emulator received):"
    yield f"  all            {_totals(emu.stats())}"
    for provider, model in sorted({(job.provider, job.model) for job in jobs}):
        of_model = [job for job in jobs if job.model == model and job.provider == provider]
        states = Counter(job.state for job in of_model)
        ended = ", ".join(f"{state} {count}" for state, count in sorted(states.items()))
        yield f"  {provider}/{model}: submitted {len(of_model)} ({ended})"
    groups: dict[tuple[str, str, str], list[str]] = {}
    for job in jobs:
        body = json.dumps(job.input, sort_keys=True, default=str)
        groups.setdefault((job.provider, job.model, body), []).append(job.state)
    repeated = sum(len(states) - 1 for states in groups.values())
    # A job cancelled (or failed) and then sent again is a retry; a second job of the same
    # input that is running or succeeded beside another is a duplicate (paid twice).
    duplicates = sum(
        max(0, sum(state in _LIVE for state in states) - 1) for states in groups.values()
    )
    yield (
        f"  identical inputs submitted more than once: {repeated} (again after a cancel or "
        f"a failure: {repeated - duplicates}; duplicates, two live or succeeded: {duplicates})"
    )


def run_emulator(
    *,
    host: str,
    port: int,
    tls: bool,
    latency: str | None,
    faults: list[str],
    tail_fraction: float | None = None,
    tail_seconds: float | None = None,
    seed: int | None = None,
    any_key: bool = False,
) -> None:
    """Serve the emulator in the foreground until Ctrl+C.

    It accepts only the keys it prints, unless ``any_key``.

    The heavy-tail options are ``tarash-emulator``'s, checked by the same function
    (:func:`tarash.emulator.__main__.with_tail`).

    Raises:
        CliError: The emulator extra is missing, a --latency/--fault/--tail-* is
            malformed, or the port is out of range or cannot be listened on.
    """
    try:
        # Imported here: the emulator is an optional extra; its absence is a CliError.
        from tarash.emulator import Emulator
        from tarash.emulator.__main__ import serve, with_tail
    except ModuleNotFoundError as exc:
        raise CliError(
            f"the emulator needs the emulator extra ({exc.name} is missing): "
            'pip install "tarash-gateway[emulator]"'
        ) from None
    try:
        chosen = with_tail(
            parse_latency(latency) if latency is not None else None,
            tail_fraction=tail_fraction,
            tail_seconds=tail_seconds,
            seed=seed,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if not 0 <= port <= _MAX_PORT:
        raise CliError(f"--port {port}: a TCP port is 0 to {_MAX_PORT} (0 picks a free one)")
    emulator = Emulator(
        host,
        port,
        latency=chosen,
        faults=[parse_fault(text) for text in faults],
        tls=tls,
        any_key=any_key,
    )
    try:
        serve(emulator, describe=instructions)
    except OSError as exc:
        # The bind failed (the port is taken, the address is not this machine's): serve()
        # raises before it prints anything, so this is the only line the user sees.
        raise CliError(
            f"--port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    # serve() returns on Ctrl+C with the emulator stopped; its job store is still readable.
    for line in accounting(emulator):
        print(line, flush=True)
