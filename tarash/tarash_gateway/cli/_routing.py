"""The ``--config routing.toml`` file: the default route and the default router's settings.

::

    [route]                       # used by lines that name no provider/model
    kind = "video"
    provider = "fal"
    model = "fal-ai/veo3"
    fallbacks = ["replicate:google/veo-3"]
    timeout = 600

    strategy = "chain"            # top level: "chain" or "hedge"
    spend_cap = 25.0              # top level: dollars (estimated) the run may spend

    [hedge]                       # HedgePolicy's fields, for strategy = "hedge"
    after = 30

    [limits.fal]                  # ProviderLimit's fields, per provider or provider/model
                                  # (the provider as configs may spell it: "FAL" is "fal")
    max_concurrent = 4

    [limits."replicate/google/veo-3"]
    creates_per_minute = 60

    [breakers]                    # BreakerPolicy's fields: one policy for every provider
    failures = 3

    [prices."fal/fal-ai/veo3"]    # Price's fields, over the default price table
    per_second = 0.40

Each value is checked when the file is read; an error names the file, the line and the
key. Everything but ``[route]`` goes to the default router (:func:`configure`, with
:class:`Router`'s keywords of the same names), which every batch request runs on.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tarash.tarash_gateway._validate import check_seconds
from tarash.tarash_gateway.cli._output import CliError
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.providers import available_providers, provider_key, table_key
from tarash.tarash_gateway.router import HedgePolicy, Router, Strategy, configure
from tarash.tarash_gateway.routing._breaker import BreakerPolicy
from tarash.tarash_gateway.routing._limits import ProviderLimit
from tarash.tarash_gateway.routing._prices import Price

__all__ = ["Route", "RoutingConfig", "load_routing"]

_TOP = frozenset({"route", "strategy", "spend_cap", "hedge", "limits", "breakers", "prices"})
_ROUTE = frozenset({"kind", "provider", "model", "fallbacks", "timeout"})


@dataclass(frozen=True, slots=True)
class Route:
    """Where a batch line goes when it names no provider or model itself."""

    kind: str = "video"
    provider: str | None = None
    model: str | None = None
    fallbacks: tuple[str, ...] = ()
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """A routing file, read and checked."""

    route: Route = field(default_factory=Route)
    strategy: Strategy = "chain"
    hedge: HedgePolicy | None = None
    limits: dict[str, ProviderLimit] = field(default_factory=dict)
    breakers: BreakerPolicy | None = None
    prices: dict[str, Price] = field(default_factory=dict)
    spend_cap: float | None = None
    path: Path | None = None

    def apply(self) -> Router:
        """Make the file's strategy, limits, breakers, prices and spend cap the default
        router's (batches run on it); return that router."""
        return configure(
            limits=self.limits or None,
            strategy=self.strategy,
            hedge=self.hedge,
            breakers=self.breakers,
            prices=self.prices or None,
            spend_cap=self.spend_cap,
        )


def _line_of(text: str, table: tuple[str, ...], key: str | None) -> int | None:
    """The line of ``key`` in ``[table]`` (or of the header), for error messages."""
    lines = text.splitlines()
    start = 0
    if table:
        wanted = [part.strip('"') for part in table]
        for number, line in enumerate(lines):
            header = re.match(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$", line)
            if (
                header
                and [
                    part.strip().strip('"')
                    for part in re.findall(r'"[^"]*"|[^.]+', header.group(1))
                ]
                == wanted
            ):
                start = number
                if key is None:
                    return number + 1
                break
        else:
            return None
    if key is None:
        return None
    pattern = re.compile(rf'^\s*("{re.escape(key)}"|{re.escape(key)})\s*=')
    for number in range(start, len(lines)):
        if number > start and table and re.match(r"^\s*\[", lines[number]):
            break
        if not table and re.match(r"^\s*\[", lines[number]):
            break
        if pattern.match(lines[number]):
            return number + 1
    return None


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def error(self, message: str, table: tuple[str, ...] = (), key: str | None = None) -> CliError:
        line = _line_of(self.text, table, key)
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        named = ".".join([*table, key] if key else table)
        return CliError(f"{where}: {named + ': ' if named else ''}{message}")

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise self.error(f"must be a table ([{name}]), got {type(value).__name__}", (), name)
        return value

    def known(self, data: dict[str, Any], allowed: frozenset[str], table: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                raise self.error(
                    f"unknown key; use one of {', '.join(sorted(allowed))}", table, key
                )


def _route(reader: _Reader, data: dict[str, Any]) -> Route:
    table = ("route",)
    reader.known(data, _ROUTE, table)
    kind = data.get("kind", "video")
    if kind not in ("video", "image"):
        raise reader.error(f"must be 'video' or 'image', got {kind!r}", table, "kind")
    for name in ("provider", "model"):
        if name in data and not (isinstance(data[name], str) and data[name].strip()):
            raise reader.error("must be a non-empty string", table, name)
    fallbacks = data.get("fallbacks", [])
    if not isinstance(fallbacks, list) or not all(
        isinstance(item, str) and ":" in item for item in fallbacks
    ):
        raise reader.error('must be a list of "PROVIDER:MODEL" strings', table, "fallbacks")
    timeout = data.get("timeout")
    if timeout is not None:
        try:
            check_seconds(timeout, "timeout")
        except ValidationError:
            # nan and inf are TOML floats too: refused here, not by the first job.
            raise reader.error(
                f"must be a finite number of seconds above 0 (at most 30 days), got {timeout!r}",
                table,
                "timeout",
            ) from None
    return Route(
        kind=kind,
        provider=data.get("provider"),
        model=data.get("model"),
        fallbacks=tuple(fallbacks),
        timeout=float(timeout) if timeout is not None else None,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_price_types(reader: _Reader, values: dict[str, Any], table: tuple[str, ...]) -> None:
    """What Price does not check itself: the types TOML may give its non-amount fields."""
    by_resolution = values.get("per_second_by_resolution", {})
    if not isinstance(by_resolution, dict) or not all(
        _is_number(amount) for amount in by_resolution.values()
    ):
        raise reader.error(
            'must be a table of dollars per second ({"1080p" = 0.5})',
            table,
            "per_second_by_resolution",
        )
    checked = values.get("checked")
    if checked is not None and (
        not isinstance(checked, datetime.date) or isinstance(checked, datetime.datetime)
    ):
        raise reader.error(
            f"must be a TOML date (checked = 2025-10-01), got {checked!r}", table, "checked"
        )
    for name in ("cancelled", "source"):
        if name in values and not isinstance(values[name], str):
            raise reader.error(f"must be a string, got {values[name]!r}", table, name)


_Row = TypeVar("_Row", ProviderLimit, Price)


def _rows(
    reader: _Reader,
    data: dict[str, Any],
    name: str,
    row: type[_Row],
    check: Callable[[_Reader, dict[str, Any], tuple[str, ...]], None] | None = None,
) -> dict[str, _Row]:
    """``[name."provider/model"]`` tables, each built into ``row`` (a dataclass)."""
    found: dict[str, _Row] = {}
    written: dict[str, str] = {}
    names = frozenset(f.name for f in dataclasses.fields(row))
    known_providers = {provider_key(provider) for provider in available_providers()}
    for target, values in reader.table(data, name).items():
        table = (name, f'"{target}"' if "/" in target or "." in target else target)
        if not isinstance(values, dict):
            raise reader.error(f"must be a table of {row.__name__} fields", (name,), target)
        provider = target.split("/", 1)[0]
        if provider_key(provider) not in known_providers:
            # A misspelt provider would otherwise be a limit or a price that never applies.
            raise reader.error(
                f"unknown provider {provider!r}; use one of {', '.join(sorted(known_providers))}",
                table,
            )
        # Keyed as the router looks providers up (the registry's reading of the name):
        # [limits.FAL] holds for a config spelt "fal", and two spellings of one row would
        # leave which one holds to chance.
        key = table_key(target)
        if key in written:
            raise reader.error(
                f"names the same {name} row as [{name}.{written[key]}]; give it once", table
            )
        written[key] = table[1]
        reader.known(values, names, table)
        if check is not None:
            check(reader, values, table)
        try:
            found[key] = row(**values)
        except TarashException as exc:
            culprit = next((field for field in values if field in exc.message), None)
            raise reader.error(exc.message, table, culprit) from None
    return found


_Policy = TypeVar("_Policy", HedgePolicy, BreakerPolicy)


def _policy(
    reader: _Reader, data: dict[str, Any], name: str, policy: type[_Policy]
) -> _Policy | None:
    """A ``[name]`` table of ``policy``'s fields (a dataclass), or None when absent."""
    values = reader.table(data, name)
    if not values:
        return None
    reader.known(values, frozenset(f.name for f in dataclasses.fields(policy)), (name,))
    try:
        return policy(**values)
    except (TarashException, TypeError) as exc:
        key = next((field for field in values if field in str(exc)), None)
        raise reader.error(str(exc), (name,), key) from None


def _spend_cap(reader: _Reader, data: dict[str, Any]) -> float | None:
    cap = data.get("spend_cap")
    if cap is None:
        return None
    if not _is_number(cap) or not math.isfinite(cap) or cap < 0:
        raise reader.error(f"must be dollars (a number >= 0), got {cap!r}", (), "spend_cap")
    return float(cap)


def load_routing(path: Path) -> RoutingConfig:
    """Read and check a routing file.

    Raises:
        CliError: The file is missing, not TOML, or a value is wrong (its line is named).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"--config {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        # TOML is UTF-8 by definition (toml.io, "Spec").
        raise CliError(
            f"--config {path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x});"
            " TOML files are UTF-8"
        ) from None
    reader = _Reader(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path}: not TOML: {exc}") from None
    reader.known(data, _TOP, ())
    route = _route(reader, reader.table(data, "route"))
    strategy: Strategy
    match data.get("strategy", "chain"):
        case "chain":
            strategy = "chain"
        case "hedge":
            strategy = "hedge"
        case other:
            raise reader.error(f"must be 'chain' or 'hedge', got {other!r}", (), "strategy")
    return RoutingConfig(
        route=route,
        strategy=strategy,
        hedge=_policy(reader, data, "hedge", HedgePolicy),
        limits=_rows(reader, data, "limits", ProviderLimit),
        breakers=_policy(reader, data, "breakers", BreakerPolicy),
        prices=_rows(reader, data, "prices", Price, _check_price_types),
        spend_cap=_spend_cap(reader, data),
        path=path,
    )
