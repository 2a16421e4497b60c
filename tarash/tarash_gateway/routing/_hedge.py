"""A hedged race down a config's chain: the next config starts when the current one is slow.

The chain is the one the config already describes (primary, then ``fallback_configs`` in
order). The primary starts at once; whenever the attempt started last has not finished
within the hedge delay (fixed, or learned from recent completion times of its
provider/model) of its job being accepted, the next config starts beside it as a
``hedge``, as long as fewer than ``max_parallel`` attempts are in flight. An attempt that
fails (or is skipped) lets the next config start at once as a ``fallback``, under the
chain's ``fallback_on`` rule. The first success wins; every other attempt is cancelled
at once, locally and remotely (its waiter cancels the provider's job), and recorded
``cancelled`` with what its provider bills for cancelled work, or at its full estimate
when its cancel failed or came after it finished (it ran, and is billed, in full).

Hedging only pays where a cancelled job costs little: ``may_hedge_onto`` (from the price
table and the provider's ``supports_cancel``) can refuse to hedge onto a config whose
provider bills cancelled work or cannot cancel at all; such a config still runs as a
fallback after a failure.

The delay runs from the acceptance, not from the attempt's start, because learned
completion times run from the submit: an attempt waiting for capacity (its provider's
rate limit, a concurrency cap) is not yet slow, and hedging during that wait would fire
early. An attempt that waits too long for capacity spills over and the next config starts
as a fallback instead.

A learned delay is a quantile of completion times, and the slowest jobs are the ones a
race cancels: learning from the winners alone, the tail would vanish from the history and
the quantile would sink into the fast jobs, hedging ever more of them (with a 5% tail and
p90, 14.5% of the requests instead of 10%). So a loser that outlived its hedge delay and
had been submitted is learnt at its time so far, a lower bound of its completion time:
above the delay, it keeps the quantile's rank right.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from tarash.tarash_gateway._unions import Config, ProgressCallback, Request, Response
from tarash.tarash_gateway.engine._task_groups import raising_the_first_error
from tarash.tarash_gateway.errors import TarashException, falls_back
from tarash.tarash_gateway.models import AttemptRole
from tarash.tarash_gateway.routing._attempt import (
    AttemptHooks,
    AttemptServices,
    AttemptSkipped,
    JobAccepted,
)
from tarash.tarash_gateway.routing._chain import (
    check_chain,
    fallback_policies,
    run_config,
    skipped_error,
)
from tarash.tarash_gateway.routing._jobs import CallbackError
from tarash.tarash_gateway.routing._metadata import (
    AttemptRecorder,
    MetadataCollector,
    attach_metadata,
)

__all__ = ["HedgePlan", "run_hedge"]

logger = logging.getLogger("tarash.router")


@dataclass(frozen=True, slots=True)
class HedgePlan:
    """How one race is run (built by the router from its :class:`HedgePolicy`).

    Attributes:
        max_parallel: Attempts in flight at once, at most.
        delay_for: The hedge delay, in seconds, after a config's job is accepted.
        may_hedge_onto: Whether a config may be started as a hedge (not as a fallback).
    """

    max_parallel: int
    delay_for: Callable[[Config], float]
    may_hedge_onto: Callable[[Config], bool] = field(default=lambda config: True)


@dataclass(slots=True)
class _Outcome:
    """A racer's end, or (``accepted``) the news that its job was accepted."""

    number: int
    response: Response | None = None
    error: BaseException | None = None
    accepted: bool = False


@dataclass(slots=True)
class _Race:
    chain: list[Config]
    request: Request
    on_progress: ProgressCallback | None
    services: AttemptServices
    hooks: AttemptHooks
    collector: MetadataCollector
    send: MemoryObjectSendStream[_Outcome]
    group: anyio.abc.TaskGroup
    started: int = 0
    running: dict[int, anyio.CancelScope] = field(default_factory=dict)
    # Per attempt number: its recorder and when its job was accepted, for a censored
    # sample (from the submit, as every learned latency is).
    recorders: dict[int, AttemptRecorder] = field(default_factory=dict)
    accepted_at: dict[int, float] = field(default_factory=dict)
    # Attempts a hedge was started beside (they outlived their hedge delay).
    outlived: set[int] = field(default_factory=set)

    @property
    def more(self) -> bool:
        return self.started < len(self.chain)

    @property
    def upcoming(self) -> Config:
        return self.chain[self.started]

    def start(self, role: AttemptRole) -> None:
        candidate = self.chain[self.started]
        self.started += 1
        recorder = self.collector.new_attempt(candidate.provider, candidate.model, role)
        number = recorder.metadata.attempt_number
        scope = anyio.CancelScope()
        self.running[number] = scope
        self.recorders[number] = recorder
        # Only the chain's last config waits for capacity until its deadline.
        spill = self.more
        user_on_accepted = self.hooks.on_accepted

        async def on_accepted(event: JobAccepted) -> None:
            # The hedge delay starts now: the race loop hears of it before the user's
            # hook runs, so a slow hook does not delay the hedge. The attempt's own
            # call_hook wraps what the user's hook raises.
            self.accepted_at[number] = anyio.current_time()
            self.send.send_nowait(_Outcome(number, accepted=True))
            if user_on_accepted is not None:
                result = user_on_accepted(event)
                if inspect.isawaitable(result):
                    await result

        hooks = dataclasses.replace(self.hooks, on_accepted=on_accepted)

        async def race() -> None:
            outcome = _Outcome(number)
            with scope:
                try:
                    response = await run_config(
                        candidate,
                        self.request,
                        recorder,
                        self.on_progress,
                        services=self.services,
                        hooks=hooks,
                        spill=spill,
                    )
                    # Video and image configs only (audio always runs as a chain).
                    outcome.response = cast("Response", response)
                except (AttemptSkipped, CallbackError, TarashException) as exc:
                    outcome.error = exc
                except anyio.get_cancelled_exc_class():
                    raise
                except BaseException as exc:
                    # A callback's KeyboardInterrupt or SystemExit, carried to the race's
                    # own task: raised in a child task, asyncio would let it stop the
                    # event loop itself (tarash's private loop, for a sync call).
                    outcome.error = exc
            if not scope.cancel_called:
                self.send.send_nowait(outcome)

        self.group.start_soon(race)

    def hedge(self) -> None:
        """Start the next config beside the one started last, which outlived its delay."""
        self.outlived.add(self.started)
        self.start("hedge")

    def learn_outlived_losers(self) -> None:
        """Learn each submitted racer that outlived its delay at its time so far."""
        costs = self.services.costs
        if costs is None:
            return
        now = anyio.current_time()
        for number in self.running.keys() & self.outlived:
            meta = self.recorders[number].metadata
            accepted_at = self.accepted_at.get(number)
            if meta.request_id is not None and accepted_at is not None:
                costs.record_latency(meta.provider, meta.model, now - accepted_at)

    def cancel_all(self) -> None:
        for scope in self.running.values():
            scope.cancel()
        self.running.clear()


async def run_hedge(
    config: Config,
    request: Request,
    on_progress: ProgressCallback | None,
    *,
    plan: HedgePlan,
    services: AttemptServices,
    hooks: AttemptHooks,
) -> Response:
    """Race down ``config``'s chain as the module docstring says; return the winner.

    Raises:
        TarashException: Every attempt failed (the last one's error, with
            ``execution_metadata`` of all).
        Exception: Whatever the user's progress callback or a hook raised, unchanged
            (every other attempt is cancelled first).
    """
    # A video or image config's chain holds configs of its own kind only.
    chain = cast("list[Config]", check_chain(config))
    policies = fallback_policies(config)
    collector = MetadataCollector(configs_in_chain=len(chain))
    send, receive = anyio.create_memory_object_stream[_Outcome](math.inf)
    winner: _Outcome | None = None
    last_error: TarashException | None = None
    # What a callback (or hook) raised: every racer is cancelled, then it is re-raised.
    escaped: BaseException | None = None
    # A racer's BaseException (a callback's KeyboardInterrupt) reaches the caller as it
    # would from a chain, not wrapped in the task group's exception group.
    with send, receive, raising_the_first_error():
        async with anyio.create_task_group() as group:
            race = _Race(chain, request, on_progress, services, hooks, collector, send, group)
            race.start("primary")
            # No hedge before the racer started last has its job accepted (see above).
            hedge_at = math.inf
            stop_starting = False
            while race.running:
                can_hedge = (
                    not stop_starting
                    and race.more
                    and len(race.running) < plan.max_parallel
                    and plan.may_hedge_onto(race.upcoming)
                )
                outcome: _Outcome | None = None
                with anyio.move_on_at(hedge_at if can_hedge else math.inf):
                    outcome = await receive.receive()
                if outcome is None:
                    logger.info(
                        "no result after the hedge delay; hedging onto %s/%s",
                        race.upcoming.provider,
                        race.upcoming.model,
                    )
                    hedge_at = math.inf
                    race.hedge()
                    continue
                if outcome.accepted:
                    if outcome.number == race.started:
                        # Attempts start in chain order, one per config.
                        delay = plan.delay_for(chain[outcome.number - 1])
                        hedge_at = anyio.current_time() + delay
                    continue
                race.running.pop(outcome.number, None)
                if outcome.response is not None:
                    winner = outcome
                    race.learn_outlived_losers()
                    break
                error = outcome.error
                if isinstance(error, CallbackError) or not isinstance(
                    error, AttemptSkipped | TarashException
                ):
                    escaped = error
                    break
                # Attempts start in chain order, one per config.
                failed = chain[outcome.number - 1]
                if isinstance(error, AttemptSkipped):
                    last_error = last_error or skipped_error(failed, error)
                    moves_on = True
                else:
                    last_error = error
                    moves_on = falls_back(error, policies[id(failed)])
                if not moves_on:
                    # This config's failure allows no fallback: start nothing more, but an
                    # attempt already racing may still win.
                    stop_starting = True
                elif race.more and len(race.running) < plan.max_parallel and not stop_starting:
                    hedge_at = math.inf
                    race.start("fallback")
            # The winner's rivals, or every racer after a callback raised: cancelled at once
            # (each waiter cancels its remote job before its task ends).
            race.cancel_all()
    if isinstance(escaped, CallbackError):
        raise escaped.original from None
    if escaped is not None:
        raise escaped
    if winner is not None and winner.response is not None:
        return attach_metadata(winner.response, collector.build(winner.number))
    assert last_error is not None
    last_error.execution_metadata = collector.build(None)
    raise last_error
