"""The router: every generation runs on one, the module functions on a default one.

A :class:`Router` holds what every call on it shares: the providers' limits, the pauses
a provider's 429 sets on creates and on reads, the circuit breakers, the learned
latencies, the price table and the spend so far, and the strategy a chain of configs is
run with (``"chain"``: one config after another, as the fallback chain always did;
``"hedge"``: a race down the same chain). Its methods are the module's functions, with
the same signatures; the module functions
(``tarash.tarash_gateway.generate_video`` and the rest) run on the default router, which
:func:`configure` replaces (the module-client pattern of openai-python)::

    from tarash.tarash_gateway import ProviderLimit, configure

    configure(limits={"fal": ProviderLimit(max_concurrent=4)})
    # from here on generate_video(config, request) waits for one of fal's 4 slots

Each router keeps that shared state of its own, behind one small interface
(``routing/_state.RouterState``; ``Router.state``, in memory by default): two routers do
not share limits, pauses, breakers or spend. The read pauses (``Router.read_pauses``) are
kept in that state, the spend cap's holds are reserved and settled there, the breakers'
records are swapped there (a ``BreakerBoard`` passed in to share between routers keeps
its own), the learned latencies are its samples, and the limits' create pauses (a
``Retry-After``, a spent request budget) are its pauses and the jobs in flight its
slots; the limits board still keeps its create windows and learned slow-down itself (and
its waiters, woken in process).

Every router, the default one included, applies ``_limits.DEFAULT_LIMITS`` (the create
rates that are safe for a new account) under the limits it is given; ``limits={}`` turns
them off.

The seam for batch runs (``_batch``): :meth:`Router.run_async` runs one request with
:class:`~tarash.tarash_gateway.routing._attempt.AttemptHooks` (told before each submit, when a
provider accepts a job, and when each attempt ends), and :meth:`Router.resume_async`
waits on a stored :class:`~tarash.tarash_gateway.models.JobHandle`, its metadata one
attempt, with the same hooks (``on_attempt_end``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from tarash.tarash_gateway._unions import AnyConfig, AnyRequest, AnyResponse, Config, Response
from tarash.tarash_gateway._unions import ProgressCallback as AnyProgressCallback
from tarash.tarash_gateway.engine._read_pauses import ReadPauses
from tarash.tarash_gateway.engine._sync import run_sync
from tarash.tarash_gateway.engine._tracing import SpanLike, set_attributes, span
from tarash.tarash_gateway.errors import TarashException, ValidationError, falls_back
from tarash.tarash_gateway.models import (
    ExecutionMetadata,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageGenerationUpdate,
    ImageProgressCallback,
    JobHandle,
    ProgressCallback,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers import get_provider_entry, provider_key
from tarash.tarash_gateway.routing._arguments import (
    check_generation_arguments,
    check_handle_arguments,
    check_wait_arguments,
)
from tarash.tarash_gateway.routing._attempt import (
    NO_HOOKS,
    Attempt,
    AttemptHooks,
    AttemptServices,
    AttemptSkipped,
    client_for_handle,
)
from tarash.tarash_gateway.routing._breaker import Admission, BreakerBoard, BreakerPolicy
from tarash.tarash_gateway.routing._chain import fallback_policies, run_chain
from tarash.tarash_gateway.routing._hedge import HedgePlan, run_hedge
from tarash.tarash_gateway.routing._jobs import (
    CallbackError,
    cancel_unless_finished,
    deadline_from_handle,
    snapshot_to_update,
)
from tarash.tarash_gateway.routing._latency import LatencyTracker
from tarash.tarash_gateway.routing._limits import (
    CapacityBoard,
    CapacitySlot,
    CapacitySpill,
    ProviderLimit,
    limit_key,
    merge_limits,
)
from tarash.tarash_gateway.routing._metadata import MetadataCollector, attach_metadata
from tarash.tarash_gateway.routing._prices import Price, PriceTable, SpendTracker
from tarash.tarash_gateway.routing._snapshot import RouterSnapshot
from tarash.tarash_gateway.routing._state import MemoryState, RouterState
from tarash.tarash_gateway.routing._watch import JOB_WATCHER

__all__ = ["HedgePolicy", "Router", "Strategy", "configure", "default_router"]

Strategy = Literal["chain", "hedge"]
"""How a router runs a config's chain: one config after another, or a hedged race."""


Limits = Mapping[str, ProviderLimit | Mapping[str, Any]]
Prices = Mapping[str, Price | Mapping[str, Any]]


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, fallback_allowed=False)


@dataclass(frozen=True, slots=True)
class _Breakers:
    """The breaker board as the staged attempt uses it."""

    board: BreakerBoard

    def admit(self, provider: str, model: str) -> Admission:
        """Whether the breaker lets the call go now (before it waits for capacity)."""
        return self.board.admit(provider, model)

    def readmit(self, provider: str, model: str, first: Admission) -> Admission:
        """Whether the call admitted as ``first`` may still go, right before its submit."""
        return self.board.readmit(provider, model, first)

    def record(self, provider: str, model: str, outcome: str, transient: bool) -> None:
        """Tell the breaker how an admitted attempt ended."""
        if outcome == "success":
            self.board.record_success(provider, model)
        elif outcome == "failure":
            self.board.record_failure(provider, model, transient=transient)
        else:
            self.board.record_cancelled(provider, model)


@dataclass(frozen=True, slots=True)
class _Costs:
    """Prices, spend and latency as the staged attempt uses them."""

    prices: PriceTable
    spend: SpendTracker
    latency: LatencyTracker

    def estimate(self, provider: str, model: str, summary: Mapping[str, Any]) -> float | None:
        """The job's estimated cost from the price table."""
        return self.prices.estimate(provider, model, summary)

    def cancelled_cost(self, provider: str, model: str, estimate: float | None) -> float | None:
        """What the provider bills for a cancelled job of that estimate."""
        return self.prices.cancelled_cost(provider, model, estimate)

    async def reserve(
        self, amount: float | None, provider: str, model: str
    ) -> Callable[[float | None], Awaitable[None]]:
        """Hold the estimate against the spend cap (in the router's state); the settle
        function is returned."""
        reservation = await self.spend.reserve_async(amount, provider=provider, model=model)
        return reservation.settle_async

    def record_latency(self, provider: str, model: str, seconds: float) -> None:
        """Learn a completion time (for learned hedge delays)."""
        self.latency.record(limit_key(provider, model), seconds)


@dataclass(frozen=True, slots=True)
class _BoardCapacity:
    """The limits board as the staged attempt uses it: a spill-over is a skip."""

    board: CapacityBoard

    async def acquire(
        self,
        provider: str,
        model: str,
        *,
        deadline: float | None,
        spill: bool,
        account: str | None = None,
    ) -> CapacitySlot:
        try:
            return await self.board.acquire(
                provider, model, deadline=deadline, account=account, may_spill=spill
            )
        except CapacitySpill as exc:
            raise AttemptSkipped(f"spilt over to the next config: {exc.message}") from None

    def slow_down(
        self,
        provider: str,
        model: str,
        retry_after: float | None,
        *,
        account: str | None = None,
        over_concurrency: bool = False,
    ) -> None:
        """Learn from a 429 or a THROTTLED job: every call of the account to the provider
        slows down, limited or not (a pause longer than a call's deadline fails it at
        once, and a chain with a config left spills over to it, rather than wait); other
        keys' calls do not."""
        self.board.slow_down(
            provider, model, retry_after, account=account, over_concurrency=over_concurrency
        )

    def pause_creates(
        self, provider: str, model: str, seconds: float, *, account: str | None = None
    ) -> None:
        """A reply said the account's request budget at the provider is spent for
        ``seconds``."""
        self.board.pause_creates(provider, model, seconds, account=account)


@dataclass(frozen=True, slots=True)
class HedgePolicy:
    """How a ``strategy="hedge"`` router races down a chain.

    Args:
        after: Seconds to wait for the attempt started last before starting the next
            config beside it; ``"learned"`` (default) uses the ``quantile`` of recent
            completion times of that attempt's provider/model (``initial_after`` until
            enough are known). ``0`` with ``max_parallel`` at the chain's length races
            every config at once.
        max_parallel: Attempts of one request in flight at once, at most (>= 1).
        quantile: The completion-time quantile a learned delay waits for (0 < q < 1).
        initial_after: The delay while too few completion times are known.
        refuse_billed_cancel: Never *hedge* onto a provider/model the price table says
            bills a cancelled job in full, nor onto a provider with no cancel call
            (``supports_cancel`` False, such as OpenAI's or OpenRouter's videos: a lost
            racer runs on and is billed, with or without a price row); it may still run
            as a fallback after a failure. ``False`` is the explicit opt-in to hedge
            onto them anyway.

    Raises:
        ValidationError: A value is out of range (the field is named).
    """

    after: float | Literal["learned"] = "learned"
    max_parallel: int = 2
    quantile: float = 0.9
    initial_after: float = 60.0
    refuse_billed_cancel: bool = True

    def __post_init__(self) -> None:
        after = self.after
        if after != "learned" and (
            isinstance(after, bool)
            or not isinstance(after, int | float)
            or not math.isfinite(after)
            or after < 0
        ):
            raise _invalid(
                f"HedgePolicy.after must be seconds (a finite number >= 0) or 'learned', "
                f"got {after!r}"
            )
        if isinstance(self.max_parallel, bool) or not isinstance(self.max_parallel, int):
            raise _invalid(f"HedgePolicy.max_parallel must be an int, got {self.max_parallel!r}")
        if self.max_parallel < 1:
            raise _invalid(f"HedgePolicy.max_parallel must be >= 1, got {self.max_parallel}")
        if not isinstance(self.quantile, int | float) or not 0 < self.quantile < 1:
            raise _invalid(f"HedgePolicy.quantile must be between 0 and 1, got {self.quantile!r}")
        initial = self.initial_after
        if (
            isinstance(initial, bool)
            or not isinstance(initial, int | float)
            or not math.isfinite(initial)
            or initial < 0
        ):
            raise _invalid(
                f"HedgePolicy.initial_after must be a finite number >= 0, got {initial!r}"
            )


class Router:
    """Runs generations with shared limits, breakers, prices and a routing strategy.

    Args:
        limits: ``{"fal": ProviderLimit(max_concurrent=4), "replicate/<model>": ...}``,
            shared by every call on this router, from every thread and event loop (a
            mapping of field names is taken too, as read from TOML), over the defaults
            safe for a new account (create rates only; docs/routing-reference.md), key by key: a
            key given replaces that key's default whole. None (default): the defaults
            alone. ``{}``: no limits at all. Keys (like every table's here) name the
            provider as the registry reads it: ``"FAL"`` is ``"fal"``, for any config.
        strategy: ``"chain"`` (default): each config of the chain in turn, the next one
            only after a failure (or a skip). ``"hedge"``: a race down the same chain,
            as ``hedge`` says (audio chains always run as a chain).
        hedge: The race's policy (``HedgePolicy()`` by default).
        breakers: A :class:`BreakerPolicy` (or a ``BreakerBoard`` to share): a
            provider/model failing transiently that often is skipped (recorded
            ``skipped`` with the reason) for the cooldown, then one probe decides.
            None (default): no breakers. A policy's breakers live in the router's state.
        prices: Price rows over the defaults (``{"fal/fal-ai/veo3": Price(per_second=0.4)}``
            or a ``PriceTable``): each attempt's ``estimated_cost`` comes from them.
        spend_cap: Dollars this router may spend (estimated): an attempt that could
            pass it is not started (``SpendCapExceededError``). None: no cap (spend is
            still tracked, see :meth:`snapshot`).

    Raises:
        ValidationError: An argument is malformed (named in the message), or two keys
            of ``limits`` or ``prices`` name the same row (``"fal"`` and ``"FAL"``).
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        strategy: Strategy = "chain",
        hedge: HedgePolicy | None = None,
        breakers: BreakerPolicy | BreakerBoard | None = None,
        prices: Prices | PriceTable | None = None,
        spend_cap: float | None = None,
    ) -> None:
        if strategy not in ("chain", "hedge"):
            raise _invalid(f"Router(strategy=...) must be 'chain' or 'hedge', got {strategy!r}")
        if hedge is not None and not isinstance(hedge, HedgePolicy):
            raise _invalid(f"Router(hedge=...) takes a HedgePolicy, got {type(hedge).__name__}")
        self.strategy: Strategy = strategy
        self.hedge = hedge or HedgePolicy()
        if limits is not None and not isinstance(limits, Mapping):
            raise _invalid(
                f"Router(limits=...) takes a mapping of ProviderLimit, got {type(limits).__name__}"
            )
        self.state: RouterState = MemoryState()
        """What the router's calls share, behind the state interface (in memory)."""
        self.board = CapacityBoard(merge_limits(limits), state=self.state)
        if isinstance(breakers, BreakerPolicy):
            breakers = BreakerBoard(breakers, state=self.state)
        elif breakers is not None and not isinstance(breakers, BreakerBoard):
            raise _invalid(
                f"Router(breakers=...) takes a BreakerPolicy, got {type(breakers).__name__}"
            )
        self.breakers: BreakerBoard | None = breakers
        if prices is not None and not isinstance(prices, PriceTable | Mapping):
            raise _invalid(
                f"Router(prices=...) takes a mapping of Price or a PriceTable, got "
                f"{type(prices).__name__}"
            )
        self.prices = prices if isinstance(prices, PriceTable) else PriceTable(prices)
        self.spend = SpendTracker(spend_cap, state=self.state)
        self.latency = LatencyTracker(state=self.state)
        self.read_pauses = ReadPauses(store=self.state)
        """The pauses a provider's 429 to a read sets on the router's reads of that
        account (kept in :attr:`state`): the router's, not the process's."""
        self._services = AttemptServices(
            capacity=_BoardCapacity(self.board),
            breakers=None if breakers is None else _Breakers(breakers),
            costs=_Costs(self.prices, self.spend, self.latency),
            # A job given up on but not stopped keeps its slot until it ends.
            watcher=JOB_WATCHER,
            read_pauses=self.read_pauses,
        )

    def snapshot(self) -> RouterSnapshot:
        """The router's state now: per provider/model in flight and waiting, limits and
        what the limiter learnt."""
        return RouterSnapshot(
            limits=self.board.snapshot(),
            breakers={} if self.breakers is None else self.breakers.snapshot(),
            latency=self.latency.snapshot(),
            spend=self.spend.snapshot(),
        )

    def __repr__(self) -> str:
        return f"Router(strategy={self.strategy!r}, hedge={self.hedge!r})"

    def _hedge_delay(self, config: Config) -> float:
        after = self.hedge.after
        if after != "learned":
            return float(after)
        learned = self.latency.percentile(
            limit_key(config.provider, config.model), self.hedge.quantile
        )
        return self.hedge.initial_after if learned is None else learned

    def _may_hedge_onto(self, config: Config) -> bool:
        if not self.hedge.refuse_billed_cancel:
            return True
        # A provider with no cancel call cannot stop a lost racer, whatever its price row
        # says (or when it has none): the job runs on and is billed. A handler has no
        # remote job, so it has nothing to stop.
        if not getattr(get_provider_entry(config.provider), "supports_cancel", True):
            return False
        row = self.prices.price(config.provider, config.model)
        return row is None or row.cancelled != "full"

    # -- the batch seam -------------------------------------------------------------------

    async def run_async(
        self,
        config: VideoGenerationConfig | ImageGenerationConfig,
        request: VideoGenerationRequest | ImageGenerationRequest,
        *,
        on_progress: AnyProgressCallback | None = None,
        hooks: AttemptHooks | None = None,
    ) -> Response:
        """Run one request down ``config``'s chain with this router's strategy and hooks.

        What ``generate_video_async``/``generate_image_async`` do, plus ``hooks``:
        ``before_submit`` before each submit (the intent; raising there submits
        nothing), ``on_accepted`` with each job's :class:`JobHandle` as soon as the
        provider accepts it (store it to :meth:`resume_async` after a crash), and
        ``on_attempt_end`` with each attempt's finished metadata. Hooks may be sync or
        async; each runs to completion even while the call is being cancelled, and what
        one raises reaches the caller unchanged (the job it concerns is cancelled).

        Raises:
            ValidationError: The arguments are malformed (nothing was submitted).
            TarashException: Every attempt failed; ``error.execution_metadata`` tells how.
        """
        kind: Literal["video", "image"] = (
            "video" if isinstance(request, VideoGenerationRequest) else "image"
        )
        check_generation_arguments(f"generate_{kind}", kind, config, request, on_progress)
        response = await self._run(config, request, on_progress, hooks or NO_HOOKS)
        return cast("Response", response)

    async def resume_async(
        self,
        handle: JobHandle,
        *,
        config: Config | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        on_progress: AnyProgressCallback | None = None,
        hooks: AttemptHooks | None = None,
        chain: Config | None = None,
        request: VideoGenerationRequest | ImageGenerationRequest | None = None,
    ) -> Response:
        """Wait on a stored handle as :meth:`wait_async` does, telling ``hooks`` of the
        attempt's end (``on_attempt_end``). The job is never resubmitted.

        Given the ``chain`` the job was submitted down (``config`` being the member it was
        submitted to, found by identity, else by provider and model) and the ``request``,
        a failure of the job that the chain would have fallen back on continues the chain
        from the config after ``config``, one config after another, as the original run
        would have; ``hooks`` are then told of those attempts' submits as well, and the
        metadata holds the resumed attempt followed by theirs. Without them, the job's
        failure is raised.

        Raises:
            TarashException: As :meth:`wait_async`; with ``chain``, as :meth:`run_async`
                for the configs after ``config``.
        """
        api_key = check_wait_arguments(
            "wait", handle, config, api_key, timeout, poll_interval, on_progress
        )
        members = _resumed_chain(chain, request, config, handle)
        deadline = deadline_from_handle(handle, timeout)
        client = self._services.adopt(client_for_handle(handle, config, api_key, deadline))
        collector = MetadataCollector(configs_in_chain=len(members) if members else 1)
        attempt = Attempt(
            None,
            None,
            collector.new_attempt(handle.provider, handle.model),
            on_progress=on_progress,
            hooks=hooks or NO_HOOKS,
            services=self._services,
        )
        try:
            response = await attempt.resume(
                client, handle, deadline=deadline, poll_interval=poll_interval
            )
        except CallbackError as exc:
            raise exc.original from None
        except TarashException as exc:
            position = _continues_after(members, config, handle, exc)
            if position is None or chain is None or request is None:
                exc.execution_metadata = collector.build(None)
                raise
            return cast(
                "Response",
                await run_chain(
                    chain,
                    request,
                    on_progress,
                    services=self._services,
                    hooks=hooks or NO_HOOKS,
                    first=position + 1,
                    collector=collector,
                ),
            )
        return attach_metadata(response, collector.build(1))

    async def _run(
        self,
        config: AnyConfig,
        request: AnyRequest,
        on_progress: AnyProgressCallback | None,
        hooks: AttemptHooks,
    ) -> AnyResponse:
        """Run the request with the router's strategy inside its ``tarash.generate`` span."""
        kind = "video" if isinstance(request, VideoGenerationRequest) else "image"
        hedged = self.strategy == "hedge" and isinstance(
            config, VideoGenerationConfig | ImageGenerationConfig
        )
        with span(
            "tarash.generate",
            {
                "tarash.strategy": "hedge" if hedged else "chain",
                "tarash.kind": kind,
                "tarash.configs_in_chain": len(config.chain()),
            },
        ) as current:
            try:
                response = await self._run_strategy(config, request, on_progress, hooks)
            except TarashException as exc:
                _trace_outcome(current, exc.execution_metadata)
                current.mark_failed(type(exc).__name__)
                raise
            except Exception as exc:
                # The user's callback or hook raised: the request failed, not a provider.
                current.mark_failed(type(exc).__name__)
                raise
            _trace_outcome(current, response.execution_metadata)
            return response

    async def _run_strategy(
        self,
        config: AnyConfig,
        request: AnyRequest,
        on_progress: AnyProgressCallback | None,
        hooks: AttemptHooks,
    ) -> AnyResponse:
        if self.strategy == "hedge" and isinstance(
            config, VideoGenerationConfig | ImageGenerationConfig
        ):
            plan = HedgePlan(
                max_parallel=self.hedge.max_parallel,
                delay_for=self._hedge_delay,
                may_hedge_onto=self._may_hedge_onto,
            )
            return await run_hedge(
                config,
                cast("VideoGenerationRequest | ImageGenerationRequest", request),
                on_progress,
                plan=plan,
                services=self._services,
                hooks=hooks,
            )
        return await run_chain(config, request, on_progress, services=self._services, hooks=hooks)

    async def run_chain_async(
        self,
        config: AnyConfig,
        request: AnyRequest,
        on_progress: AnyProgressCallback | None = None,
    ) -> AnyResponse:
        """Run any chain (audio included) one config after another on this router's
        limits and breakers; the arguments are checked by the caller."""
        return await run_chain(config, request, on_progress, services=self._services)

    # -- the module's functions -----------------------------------------------------------

    async def generate_video_async(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """As :func:`tarash.tarash_gateway.generate_video_async`, on this router."""
        check_generation_arguments("generate_video", "video", config, request, on_progress)
        response = await self._run(config, request, on_progress, NO_HOOKS)
        # A video request to video configs only (checked above) yields a video response.
        return cast("VideoGenerationResponse", response)

    def generate_video(
        self,
        config: VideoGenerationConfig,
        request: VideoGenerationRequest,
        on_progress: ProgressCallback | None = None,
    ) -> VideoGenerationResponse:
        """Sync twin of :meth:`generate_video_async`."""
        return run_sync(self.generate_video_async, config, request, on_progress)

    async def generate_image_async(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """As :func:`tarash.tarash_gateway.generate_image_async`, on this router."""
        check_generation_arguments("generate_image", "image", config, request, on_progress)
        response = await self._run(config, request, on_progress, NO_HOOKS)
        # An image request to image configs only (checked above) yields an image response.
        return cast("ImageGenerationResponse", response)

    def generate_image(
        self,
        config: ImageGenerationConfig,
        request: ImageGenerationRequest,
        on_progress: ImageProgressCallback | None = None,
    ) -> ImageGenerationResponse:
        """Sync twin of :meth:`generate_image_async`."""
        return run_sync(self.generate_image_async, config, request, on_progress)

    async def _submit(self, config: Config, request: AnyRequest) -> JobHandle:
        collector = MetadataCollector()
        attempt = Attempt(
            config,
            cast("VideoGenerationRequest | ImageGenerationRequest", request),
            collector.new_attempt(config.provider, config.model),
            services=self._services,
        )
        try:
            return await attempt.submit_only()
        except TarashException as exc:
            exc.execution_metadata = collector.build(None)
            raise

    async def submit_video_async(
        self, config: VideoGenerationConfig, request: VideoGenerationRequest
    ) -> JobHandle:
        """As :func:`tarash.tarash_gateway.submit_video_async`, on this router's limits."""
        check_generation_arguments("submit_video", "video", config, request)
        return await self._submit(config, request)

    def submit_video(
        self, config: VideoGenerationConfig, request: VideoGenerationRequest
    ) -> JobHandle:
        """Sync twin of :meth:`submit_video_async`."""
        return run_sync(self.submit_video_async, config, request)

    async def submit_image_async(
        self, config: ImageGenerationConfig, request: ImageGenerationRequest
    ) -> JobHandle:
        """As :func:`tarash.tarash_gateway.submit_image_async`, on this router's limits."""
        check_generation_arguments("submit_image", "image", config, request)
        return await self._submit(config, request)

    def submit_image(
        self, config: ImageGenerationConfig, request: ImageGenerationRequest
    ) -> JobHandle:
        """Sync twin of :meth:`submit_image_async`."""
        return run_sync(self.submit_image_async, config, request)

    async def wait_async(
        self,
        handle: JobHandle,
        *,
        config: Config | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        on_progress: ProgressCallback | ImageProgressCallback | None = None,
    ) -> VideoGenerationResponse | ImageGenerationResponse:
        """As :func:`tarash.tarash_gateway.wait_async`, on this router."""
        return await self.resume_async(
            handle,
            config=config,
            api_key=api_key,
            timeout=timeout,
            poll_interval=poll_interval,
            on_progress=on_progress,
        )

    def wait(
        self,
        handle: JobHandle,
        *,
        config: Config | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        on_progress: ProgressCallback | ImageProgressCallback | None = None,
    ) -> VideoGenerationResponse | ImageGenerationResponse:
        """Sync twin of :meth:`wait_async`."""
        return run_sync(
            self.wait_async,
            handle,
            config=config,
            api_key=api_key,
            timeout=timeout,
            poll_interval=poll_interval,
            on_progress=on_progress,
        )

    async def status_async(
        self, handle: JobHandle, *, config: Config | None = None, api_key: str | None = None
    ) -> VideoGenerationUpdate | ImageGenerationUpdate:
        """As :func:`tarash.tarash_gateway.status_async`, its read held by this router's
        read pauses."""
        api_key = check_handle_arguments("status", handle, config, api_key)
        client = self._services.adopt(client_for_handle(handle, config, api_key, None))
        return snapshot_to_update(await client.poll(handle), handle)

    def status(
        self, handle: JobHandle, *, config: Config | None = None, api_key: str | None = None
    ) -> VideoGenerationUpdate | ImageGenerationUpdate:
        """Sync twin of :meth:`status_async`."""
        return run_sync(self.status_async, handle, config=config, api_key=api_key)

    async def cancel_async(
        self, handle: JobHandle, *, config: Config | None = None, api_key: str | None = None
    ) -> bool:
        """As :func:`tarash.tarash_gateway.cancel_async`, its status read (when the
        provider's cancel deletes a finished job) held by this router's read pauses."""
        api_key = check_handle_arguments("cancel", handle, config, api_key)
        client = self._services.adopt(client_for_handle(handle, config, api_key, None))
        return await cancel_unless_finished(client, handle)

    def cancel(
        self, handle: JobHandle, *, config: Config | None = None, api_key: str | None = None
    ) -> bool:
        """Sync twin of :meth:`cancel_async`."""
        return run_sync(self.cancel_async, handle, config=config, api_key=api_key)


def _resumed_chain(
    chain: Config | None,
    request: VideoGenerationRequest | ImageGenerationRequest | None,
    config: Config | None,
    handle: JobHandle,
) -> list[Config] | None:
    """The chain a resumed job continues down on failure (``resume_async(chain=...)``).

    Raises:
        ValidationError: ``chain`` comes without ``request`` or ``config``, or of another
            kind than the handle.
    """
    if chain is None:
        return None
    if not isinstance(chain, VideoGenerationConfig | ImageGenerationConfig):
        raise _invalid(f"resume(chain=...) takes a config, got {type(chain).__name__}")
    kind_config = VideoGenerationConfig if handle.kind == "video" else ImageGenerationConfig
    kind_request = VideoGenerationRequest if handle.kind == "video" else ImageGenerationRequest
    if not isinstance(chain, kind_config) or not isinstance(request, kind_request):
        raise _invalid(
            f"resume(chain=...) continues a {handle.kind} job: it needs a "
            f"{kind_config.__name__} chain and a {kind_request.__name__} request"
        )
    if config is None:
        raise _invalid("resume(chain=...) needs config=..., the chain member the job is on")
    members: list[Config] = list(chain.chain())
    return members


def _continues_after(
    members: list[Config] | None,
    config: Config | None,
    handle: JobHandle,
    error: TarashException,
) -> int | None:
    """The position of the resumed job's config in ``members`` when the chain goes on
    after ``error`` (it falls back there and a config follows), else ``None``."""
    if not members or config is None:
        return None
    position = next((n for n, member in enumerate(members) if member is config), None)
    if position is None:
        wanted = (provider_key(handle.provider), handle.model)
        position = next(
            (
                n
                for n, member in enumerate(members)
                if (provider_key(member.provider), member.model) == wanted
            ),
            None,
        )
    if position is None or position + 1 >= len(members):
        return None
    policy = fallback_policies(members[0]).get(id(members[position]), "transient")
    return position if falls_back(error, policy) else None


def _total_cost(meta: ExecutionMetadata) -> float | None:
    costs = [a.estimated_cost for a in meta.attempts if a.estimated_cost is not None]
    return sum(costs) if costs else None


def _trace_outcome(current: SpanLike, meta: ExecutionMetadata | None) -> None:
    """Put how the request ended on its span: attempts, and the winner if any."""
    if meta is None:
        return
    winner = None
    if meta.successful_attempt is not None:
        winner = next(
            (a for a in meta.attempts if a.attempt_number == meta.successful_attempt), None
        )
    set_attributes(
        current,
        {
            "tarash.attempts": meta.total_attempts,
            "tarash.successful_attempt": meta.successful_attempt,
            "tarash.fallback_triggered": meta.fallback_triggered,
            "tarash.provider": None if winner is None else winner.provider,
            "tarash.model": None if winner is None else winner.model,
            "tarash.job_id": None if winner is None else winner.request_id,
            "tarash.estimated_cost": _total_cost(meta),
        },
    )


_default_lock = threading.Lock()
_default: Router | None = None


def default_router() -> Router:
    """The router the module functions run on (built on first use, or by :func:`configure`)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Router()
        return _default


def resolve_router(router: object, function: str) -> Router:
    """The router a module function runs on: ``router``, or the default one when None.

    Raises:
        ValidationError: ``router`` is neither a :class:`Router` nor None (nothing is sent).
    """
    checked = check_router(router, function)
    return default_router() if checked is None else checked


def check_router(router: object, function: str) -> Router | None:
    """``router`` as given, once it is a :class:`Router` or None (the default router, to be
    looked up when the work runs).

    Raises:
        ValidationError: ``router`` is neither a :class:`Router` nor None (nothing is sent).
    """
    if router is not None and not isinstance(router, Router):
        raise _invalid(f"{function}(router=...) takes a Router, got {type(router).__name__}")
    return router


def configure(
    *,
    limits: Limits | None = None,
    strategy: Strategy = "chain",
    hedge: HedgePolicy | None = None,
    breakers: BreakerPolicy | BreakerBoard | None = None,
    prices: Prices | PriceTable | None = None,
    spend_cap: float | None = None,
) -> Router:
    """Replace the default router the module functions run on; return it.

    Takes :class:`Router`'s keywords. Calls already running finish on the router they
    started on; later calls use the new one.

    Raises:
        ValidationError: An argument is malformed.
    """
    global _default
    router = Router(
        limits=limits,
        strategy=strategy,
        hedge=hedge,
        breakers=breakers,
        prices=prices,
        spend_cap=spend_cap,
    )
    with _default_lock:
        _default = router
    return router
