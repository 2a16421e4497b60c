"""Prices per provider/model, each attempt's estimated cost, and spend caps.

A :class:`Price` says what a job costs (per second of video, per image, per run) and what a
cancelled one costs; a :class:`PriceTable` finds the row for a provider/model (the user's
rows first, by ``"provider/model"`` then ``"provider"``, then the defaults) and turns a
request summary into an estimate. :class:`SpendTracker` holds a cap: each attempt reserves
its estimate before it starts and settles what it is estimated to have cost when it ends.
The holds and the spend are kept in a router state (``routing/_state.RouterState``: the
router's own, so its attempts reserve and settle there with the async methods); the sync
methods read an in-memory state at once.

Usage (the router's attempt pipeline)::

    prices = PriceTable({"fal/fal-ai/veo3": Price(per_second=0.25)})  # over the defaults
    spend = SpendTracker(cap=20.0)
    estimate = prices.estimate("fal", "fal-ai/veo3", {"duration_seconds": 8})
    reservation = spend.reserve(estimate, provider="fal", model="fal-ai/veo3")
    try:
        ...  # the attempt
    except BaseException:
        reservation.settle(prices.cancelled_cost("fal", "fal-ai/veo3", estimate))
        raise
    reservation.settle(estimate)

The defaults are honest rather than complete: every model in the registries has a row
(for what a cancel costs on its provider), but an amount only where a published price was
found, with the date it was checked and where; elsewhere the estimate is None (unknown),
which no spend cap can refuse. Amounts are in US dollars.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Literal

from tarash.tarash_gateway.engine._read_pauses import answer_at_once
from tarash.tarash_gateway.errors import SpendCapExceededError, ValidationError
from tarash.tarash_gateway.providers import get_provider_entry, normalise_table, provider_key
from tarash.tarash_gateway.providers._base import ProviderClient
from tarash.tarash_gateway.providers._spec import find_spec
from tarash.tarash_gateway.providers.fal_models import FAL_MODELS
from tarash.tarash_gateway.providers.google_models import GOOGLE_MODELS
from tarash.tarash_gateway.providers.openai_models import OPENAI_MODELS
from tarash.tarash_gateway.providers.replicate_models import REPLICATE_MODELS
from tarash.tarash_gateway.providers.runway_models import RUNWAY_SPECS
from tarash.tarash_gateway.providers.stability_models import STABILITY_MODELS
from tarash.tarash_gateway.providers.xai_models import XAI_SPECS
from tarash.tarash_gateway.routing._snapshot import SpendSnapshot
from tarash.tarash_gateway.routing._state import Hold, MemoryState, RouterState

__all__ = [
    "DEFAULT_PRICES",
    "CancelBilling",
    "Price",
    "PriceTable",
    "Reservation",
    "SpendTracker",
]

CancelBilling = Literal["nothing", "full", "elapsed"]
"""What a job cancelled before it finished costs: nothing; its full price; or the work done
before the cancel, up to the full price (estimated at the full price, an upper bound)."""

_CANCEL_BILLING = ("nothing", "full", "elapsed")
_AMOUNTS = ("per_second", "per_second_without_audio", "per_image", "per_run")


@dataclass(frozen=True, slots=True)
class Price:
    """What one provider/model charges, and what it charges for a cancelled job.

    Args:
        per_second: Dollars per second of video (with audio, where that costs more).
        per_second_without_audio: Dollars per second when the request turns audio off.
        per_second_by_resolution: Dollars per second at resolutions priced differently
            (``{"1024p": 0.5}``); others use ``per_second``.
        per_image: Dollars per image.
        per_run: Dollars per job, on top of the rest.
        cancelled: What a cancelled job costs (see :data:`CancelBilling`).
        checked: When the price was checked against its source.
        source: Where the price was read (a URL or a document).

    Raises:
        ValidationError: An amount is negative or not finite, or ``cancelled`` is not one
            of the three words; the message names the field.
    """

    per_second: float | None = None
    per_second_without_audio: float | None = None
    per_second_by_resolution: Mapping[str, float] = field(default_factory=dict)
    per_image: float | None = None
    per_run: float | None = None
    cancelled: CancelBilling = "full"
    checked: date | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        for name in _AMOUNTS:
            _check_amount(f"Price.{name}", getattr(self, name))
        for resolution, amount in self.per_second_by_resolution.items():
            _check_amount(f"Price.per_second_by_resolution[{resolution!r}]", amount)
        if self.cancelled not in _CANCEL_BILLING:
            raise ValidationError(
                f"Price.cancelled must be one of {_CANCEL_BILLING}, got {self.cancelled!r}"
            )

    @property
    def known(self) -> bool:
        """Whether the row carries any amount (else it only says what a cancel costs)."""
        return any(getattr(self, name) is not None for name in _AMOUNTS) or bool(
            self.per_second_by_resolution
        )

    def estimate(self, summary: Mapping[str, Any]) -> float | None:
        """The job's cost from its request summary, or None when it cannot be told.

        Args:
            summary: ``duration_seconds``, ``resolution``, ``generate_audio`` and the
                count (``n``, ``count`` or ``number_of_videos``), as the job handle's
                ``request_summary`` holds them.

        Returns:
            Dollars; None when the row has no amount for what was asked (a video price
            without a duration, say).
        """
        if not self.known:
            return None
        count = _count(summary)
        total = 0.0 if self.per_run is None else self.per_run * count
        per_second = self._per_second(summary)
        if per_second is not None:
            duration = summary.get("duration_seconds")
            if not isinstance(duration, int | float) or isinstance(duration, bool):
                return None
            total += per_second * float(duration) * count
        elif self.per_image is not None:
            total += self.per_image * count
        elif self.per_run is None:
            return None
        return total

    def cost_range(self, durations: tuple[int, ...] | None) -> tuple[float, float] | None:
        """The cheapest and dearest single job at this price: the shortest and longest of
        ``durations`` at the lowest and highest per-second rate (audio off, by resolution),
        else one image, else one run; ``per_run`` is added to both ends.

        Args:
            durations: The durations the model offers; ``None`` or empty when unknown.

        Returns:
            ``(low, high)`` in dollars; ``None`` when the row has no amount, or prices by
            the second and ``durations`` is unknown (no bound can be told).
        """
        if not self.known:
            return None
        base = self.per_run or 0.0
        rates = [
            rate
            for rate in (
                self.per_second,
                self.per_second_without_audio,
                *self.per_second_by_resolution.values(),
            )
            if rate is not None
        ]
        if rates:
            if not durations:
                return None
            return (
                base + min(rates) * min(durations),
                base + max(rates) * max(durations),
            )
        if self.per_image is not None:
            return base + self.per_image, base + self.per_image
        return base, base

    def _per_second(self, summary: Mapping[str, Any]) -> float | None:
        resolution = summary.get("resolution")
        if isinstance(resolution, str) and resolution in self.per_second_by_resolution:
            return self.per_second_by_resolution[resolution]
        if summary.get("generate_audio") is False and self.per_second_without_audio is not None:
            return self.per_second_without_audio
        return self.per_second


def _check_amount(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number of dollars or None, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"{name} must be zero or more and finite, got {value!r}")


def _count(summary: Mapping[str, Any]) -> int:
    for name in ("n", "count", "number_of_videos"):
        value = summary.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 1


# -- the defaults ---------------------------------------------------------------------------

_CHECKED = date(2026, 11, 24)
_FAL_VEO3 = "https://fal.ai/models/fal-ai/veo3/llms.txt"
_FAL_VEO31 = "https://fal.ai/models/fal-ai/veo3.1/playground"
_FAL_VEO3_FAST = (
    "https://fal.ai/learn/devs/veo3-developer-guide-building-production-ready-video-"
    "generation-applications"
)
_SORA = "https://www.cometapi.com/sora-api-access-in-2026-pricing-rate-limits-and-what-s-actually-available-through-aggregators/"
_VEO_GEMINI = "https://aifreeapi.com/en/posts/veo-3-1-api-rate-limit"
_OMNI_GEMINI = "https://www.skills.sh/calesthio/openmontage/gemini-omni"
_XAI = "https://docs.x.ai/docs/guides/video-generation"
_XAI_CHECKED = date(2026, 12, 7)
_OMNI_CHECKED = date(2026, 12, 7)
_OPENROUTER = "https://openrouter.ai/docs/api/api-reference/video-generation/get-videos"

#: What a cancelled job costs on each provider, and where that was read.
_CANCEL_POLICY: Mapping[str, tuple[CancelBilling, str]] = {
    # Queued requests are removed and never run; one in progress gets a signal and the
    # model app decides whether to stop, so its work may be billed.
    "fal": ("elapsed", "https://docs.fal.ai/documentation/development/handle-cancellations"),
    # A cancelled prediction stops; what ran until then is billed.
    "replicate": ("elapsed", "/work/shared/providers/replicate.md"),
    # DELETE cancels a pending, throttled or running task; a refund is not documented.
    "runway": ("elapsed", "/work/shared/providers/runway.md"),
    # No cancel in the protocol: an abandoned job runs to the end and is billed.
    "openai": ("full", "/work/shared/providers/openai.md"),
    "azure_openai": ("full", "/work/shared/providers/azure_openai.md"),
    "google": ("full", "/work/shared/providers/google.md"),
    # Answers in the request: nothing to cancel once sent.
    "stability": ("full", "/work/shared/providers/stability.md"),
    # No cancel for a deferred video request: an abandoned one runs to the end and is
    # billed; images answer in the request.
    "xai": ("full", _XAI),
    # No cancel call in the video API: an abandoned job runs to the end and is billed.
    # Its per-second prices are in its models endpoint (providers/_openrouter_catalog).
    "openrouter": ("full", _OPENROUTER),
}

#: Published amounts found, by ``provider/model``; the rest of the registry is unknown.
_KNOWN: Mapping[str, Mapping[str, Any]] = {
    # fal: $0.40/s with audio, $0.20/s without (Veo 3 and Veo 3.1 at 720p/1080p); Veo 3.1
    # at 4k $0.60/s with audio. The fast tier: $0.15/s with audio, $0.10/s without.
    **{
        f"fal/{model}": {"per_second": 0.40, "per_second_without_audio": 0.20, "source": _FAL_VEO3}
        for model in ("fal-ai/veo3", "fal-ai/veo3/image-to-video")
    },
    **{
        f"fal/{model}": {
            "per_second": 0.40,
            "per_second_without_audio": 0.20,
            "per_second_by_resolution": {"4k": 0.60},
            "source": _FAL_VEO31,
        }
        for model in ("fal-ai/veo3.1", "fal-ai/veo3.1/image-to-video")
    },
    **{
        f"fal/{model}": {
            "per_second": 0.15,
            "per_second_without_audio": 0.10,
            "source": _FAL_VEO3_FAST,
        }
        for model in ("fal-ai/veo3/fast", "fal-ai/veo3/fast/image-to-video")
    },
    # OpenAI (third-party summaries of its pricing page): sora-2 $0.10/s at 720p;
    # sora-2-pro $0.30/s at 720p, $0.50/s at 1024p.
    **{
        f"openai/{model}": {"per_second": 0.10, "source": _SORA}
        for model in ("sora-2", "sora-2-2025-10-06", "sora-2-2025-12-08")
    },
    **{
        f"openai/{model}": {
            "per_second": 0.30,
            "per_second_by_resolution": {"1024p": 0.50},
            "source": _SORA,
        }
        for model in ("sora-2-pro", "sora-2-pro-2025-10-06")
    },
    # Google Gemini API (a third-party summary of its pricing page): Veo 3.1 $0.40/s,
    # Veo 3.1 Fast $0.15/s.
    **{
        f"google/{model}": {"per_second": 0.40, "source": _VEO_GEMINI}
        for model in ("veo-3.1-generate-preview", "veo-3.1-generate-001")
    },
    **{
        f"google/{model}": {"per_second": 0.15, "source": _VEO_GEMINI}
        for model in ("veo-3.1-fast-generate-preview", "veo-3.1-fast-generate-001")
    },
    # Gemini Omni Flash (a third-party summary, checked 2026-12-07): 5,792 output tokens per
    # second of video at $17.50 per million, about $0.10/s; Google bills tokens, not seconds.
    "google/gemini-omni-flash-preview": {
        "per_second": 0.10,
        "source": _OMNI_GEMINI,
        "checked": _OMNI_CHECKED,
    },
    # xAI's Imagine overview (checked 2026-12-07): video $0.05 per second (480p and 720p;
    # 1080p is not priced there, so it takes the same row), images $0.02 each (an edit is
    # billed for its input image too, which the estimate leaves out).
    "xai/grok-imagine-video": {"per_second": 0.05, "source": _XAI, "checked": _XAI_CHECKED},
    **{
        f"xai/{model}": {"per_image": 0.02, "source": _XAI, "checked": _XAI_CHECKED}
        for model in ("grok-imagine-image", "grok-imagine-image-quality", "grok-imagine-image-pro")
    },
}


def _registry_models() -> Iterator[tuple[str, str]]:
    registries: dict[str, Mapping[str, Any]] = {
        "fal": FAL_MODELS,
        "replicate": REPLICATE_MODELS,
        "runway": RUNWAY_SPECS,
        "openai": OPENAI_MODELS,
        "google": GOOGLE_MODELS,
        "stability": STABILITY_MODELS,
        "xai": XAI_SPECS,
    }
    for provider, models in registries.items():
        for model in models:
            if not model.endswith("/"):  # "fal-ai/veo3/" is a family's prefix, not a model
                yield provider, model


def _default_prices() -> dict[str, Price]:
    rows: dict[str, Price] = {}
    for provider, (cancelled, source) in _CANCEL_POLICY.items():
        checked = _XAI_CHECKED if provider in ("xai", "openrouter") else _CHECKED
        rows[provider] = Price(cancelled=cancelled, checked=checked, source=source)
    for provider, model in _registry_models():
        cancelled, source = _CANCEL_POLICY[provider]
        known = dict(_KNOWN.get(f"{provider}/{model}", {}))
        known.setdefault("source", source)
        known.setdefault("checked", rows[provider].checked)
        rows[f"{provider}/{model}"] = Price(cancelled=cancelled, **known)
    return rows


#: A row for every provider and every model in the registries (see the module docstring).
DEFAULT_PRICES: Mapping[str, Price] = _default_prices()


class PriceTable:
    """Price rows by ``"provider/model"`` or ``"provider"``: the user's over the defaults.

    Args:
        overrides: The user's rows; a mapping of :class:`Price` field names is accepted in
            place of a Price (as read from TOML).
        defaults: The rows the overrides sit on; :data:`DEFAULT_PRICES` unless given.

    Raises:
        ValidationError: A key or a row is malformed, or two keys name the same row
            (``"fal"`` and ``"FAL"``).
    """

    def __init__(
        self,
        overrides: Mapping[str, Price | Mapping[str, Any]] | None = None,
        *,
        defaults: Mapping[str, Price] | None = None,
    ) -> None:
        # Keyed as the registry reads provider names, as :meth:`price` looks them up: a
        # row for "FAL" prices a config spelt "fal", and the other way round.
        self._overrides = {
            key: _parse_price(key, value)
            for key, value in normalise_table(overrides or {}, "prices").items()
        }
        self._defaults = normalise_table(DEFAULT_PRICES if defaults is None else defaults, "prices")

    def price(self, provider: str, model: str) -> Price | None:
        """The row that applies: the user's for the model, then for the provider, then
        the default's for the model, then for the provider; None when there is none.
        ``provider`` is read as the registry reads it (``"FAL"`` finds ``"fal"``'s rows)."""
        provider = provider_key(provider)
        for rows in (self._overrides, self._defaults):
            for key in (f"{provider}/{model}", provider):
                if key in rows:
                    return rows[key]
        return None

    def estimate(self, provider: str, model: str, summary: Mapping[str, Any]) -> float | None:
        """The estimated cost of one job, or None when its price is unknown.

        Args:
            provider: The provider.
            model: The model.
            summary: The job's request summary (see :meth:`Price.estimate`).
        """
        row = self.price(provider, model)
        return None if row is None else row.estimate(summary)

    def cancelled_cost(self, provider: str, model: str, estimate: float | None) -> float | None:
        """What a job of that estimate costs when cancelled before it finished.

        Returns:
            0.0 where a cancel costs nothing; else the estimate (for "elapsed", its upper
            bound); None when the estimate is unknown and a cancel is not free.
        """
        row = self.price(provider, model)
        if row is not None and row.cancelled == "nothing":
            return 0.0
        return estimate

    def cost_range(self, provider: str, model: str) -> tuple[float, float] | None:
        """The cheapest and dearest single job of ``model`` (see :meth:`Price.cost_range`),
        bounded by the durations its registry entry offers; None when unknown (a provider
        that is not registered has no registry entry to bound a per-second price with)."""
        row = self.price(provider, model)
        if row is None:
            return None
        try:
            entry = get_provider_entry(provider)
        except ValidationError:
            entry = None
        spec = None
        if isinstance(entry, type) and issubclass(entry, ProviderClient):
            spec = find_spec(entry.models, model)
        return row.cost_range(spec.capabilities.durations if spec is not None else None)

    def cancel_is_free(self, provider: str, model: str) -> bool:
        """Whether a cancelled job costs nothing there: where hedging is cheap."""
        row = self.price(provider, model)
        return row is not None and row.cancelled == "nothing"


def _parse_price(key: object, value: object) -> Price:
    if not isinstance(key, str) or not key.split("/", 1)[0].strip():
        raise ValidationError(f"prices keys are 'provider' or 'provider/model', got {key!r}")
    if isinstance(value, Price):
        return value
    if isinstance(value, Mapping):
        names = {item.name for item in fields(Price)}
        unknown = set(value) - names
        if unknown:
            raise ValidationError(
                f"prices[{key!r}] has unknown field(s) {sorted(unknown)}; expected {sorted(names)}"
            )
        return Price(**value)
    raise ValidationError(f"prices[{key!r}] must be a Price, got {value!r}")


# -- spend caps -----------------------------------------------------------------------------


class Reservation:
    """An attempt's hold on a spend cap: settled with its cost, or released.

    Attributes:
        amount: What was reserved (the attempt's estimate; 0 when unknown).
    """

    __slots__ = ("_hold", "_state", "amount")

    def __init__(self, state: RouterState, hold: Hold) -> None:
        self._state = state
        self._hold = hold
        self.amount = hold.amount

    async def settle_async(self, cost: float | None) -> None:
        """Turn the hold into spend: ``cost`` (None: the reserved amount). Once only."""
        await self._state.settle(self._hold, self.amount if cost is None else max(0.0, cost))

    async def release_async(self) -> None:
        """Give the hold back unspent (nothing was submitted). Once only."""
        await self._state.release(self._hold)

    def settle(self, cost: float | None) -> None:
        """Sync :meth:`settle_async`, on a state that answers at once (in memory)."""
        answer_at_once(self.settle_async(cost))

    def release(self) -> None:
        """Sync :meth:`release_async`, on a state that answers at once (in memory)."""
        answer_at_once(self.release_async())

    def __repr__(self) -> str:
        return f"Reservation(amount={self.amount:.4f})"


class SpendTracker:
    """A spend cap shared by the attempts of a request, a race or a batch.

    No attempt starts whose estimate, added to what is spent and held, would pass the cap.
    An attempt whose cost is unknown reserves nothing and is let through: the cap covers
    what can be estimated, and the attempt's metadata says its estimate is unknown.

    Args:
        cap: Dollars; None tracks spend without a cap.
        state: Where the holds and the spend are kept (the router's state); by default an
            in-memory state of its own.
        key: The spend's key in ``state``.

    Raises:
        ValidationError: ``cap`` is negative or not finite.
    """

    def __init__(
        self, cap: float | None = None, *, state: RouterState | None = None, key: str = "spend"
    ) -> None:
        _check_amount("spend_cap", cap)
        self.cap = cap
        self._state: RouterState = state if state is not None else MemoryState()
        self._key = key

    def __repr__(self) -> str:
        return f"SpendTracker(cap={self.cap!r}, key={self._key!r})"

    @property
    def spent(self) -> float:
        """Dollars settled so far (read at once: an in-memory state)."""
        return answer_at_once(self._state.spend(self._key)).spent

    async def reserve_async(
        self, amount: float | None, *, provider: str | None = None, model: str | None = None
    ) -> Reservation:
        """Hold ``amount`` against the cap before an attempt starts.

        Raises:
            SpendCapExceededError: Spent plus held plus ``amount`` would pass the cap.
        """
        estimate = 0.0 if amount is None else max(0.0, amount)
        hold = await self._state.reserve(self._key, estimate, cap=self.cap)
        if hold is None:
            figures = await self._state.spend(self._key)
            cap = self.cap if self.cap is not None else math.inf
            raise SpendCapExceededError(
                f"spend cap ${cap:.2f} would be exceeded: ${figures.spent:.2f} spent, "
                f"${figures.reserved:.2f} held by running attempts, and this attempt is "
                f"estimated at ${estimate:.2f}; nothing was submitted",
                provider,
                model,
                cap=cap,
                spent=figures.spent,
                estimate=estimate,
            )
        return Reservation(self._state, hold)

    def reserve(
        self, amount: float | None, *, provider: str | None = None, model: str | None = None
    ) -> Reservation:
        """Sync :meth:`reserve_async`, on a state that answers at once (in memory).

        Raises:
            SpendCapExceededError: Spent plus held plus ``amount`` would pass the cap.
        """
        return answer_at_once(self.reserve_async(amount, provider=provider, model=model))

    def snapshot(self) -> SpendSnapshot:
        """The cap, what is spent and held, and what remains (read at once)."""
        figures = answer_at_once(self._state.spend(self._key))
        remaining = (
            None if self.cap is None else max(0.0, self.cap - figures.spent - figures.reserved)
        )
        return SpendSnapshot(
            cap=self.cap, spent=figures.spent, reserved=figures.reserved, remaining=remaining
        )


# Their published module, where users import them from (and where a pickle finds them).
for _published in (
    Price,
    PriceTable,
):
    _published.__module__ = "tarash.tarash_gateway"
del _published
