"""An open breaker holds for the calls it admitted before it opened: a call that waited
for capacity is asked again right before its submit, and a refusal there falls back as
one at the start does."""

from __future__ import annotations

import anyio
import httpx
import pytest
import respx

from tarash.tarash_gateway.errors import CircuitOpenError, ProviderServerError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tarash.tarash_gateway.router import Router
from tarash.tarash_gateway.routing._breaker import Admission, BreakerBoard, BreakerPolicy
from tarash.tarash_gateway.routing._limits import ProviderLimit
from tests._limit_rows import account_row
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio

CONFIG = VideoGenerationConfig(
    provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, max_retries=0
)
REQUEST = VideoGenerationRequest(prompt="a cat", duration_seconds=4)
BACKUP = "https://backup.fake.test"
CALLS = 12
FAILURES = 3


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def run_all(router: Router, config: VideoGenerationConfig) -> list[BaseException | str]:
    """Start every call at once; return each one's error (or its video)."""
    outcomes: list[BaseException | str] = []

    async def one() -> None:
        try:
            response = await router.generate_video_async(config, REQUEST)
        except (ProviderServerError, CircuitOpenError) as exc:
            outcomes.append(exc)
        else:
            outcomes.append(str(response.video))

    async with anyio.create_task_group() as group:
        for _ in range(CALLS):
            group.start_soon(one)
    return outcomes


@pytest.mark.parametrize("max_concurrent", [1, 2, 4])
async def test_calls_queued_for_capacity_send_nothing_once_the_breaker_opens(
    max_concurrent: int, respx_mock: respx.MockRouter
) -> None:
    """12 calls at once, a failing provider, failures=3: the breaker's 3, plus at most the
    calls already in flight when the third failure landed, are sent; the rest are skipped
    and fail with CircuitOpenError, nothing paid."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(500, json={"message": "down"})
    router = Router(
        limits={"fake": ProviderLimit(max_concurrent=max_concurrent)},
        breakers=BreakerBoard(BreakerPolicy(failures=FAILURES), clock=Clock()),
    )
    outcomes = await run_all(router, CONFIG)
    assert submit.call_count <= FAILURES + max_concurrent - 1
    assert sum(isinstance(o, ProviderServerError) for o in outcomes) == submit.call_count
    refused = [o for o in outcomes if isinstance(o, CircuitOpenError)]
    assert len(refused) == CALLS - submit.call_count
    for error in refused:
        meta = error.execution_metadata
        assert meta is not None and meta.attempts[0].status == "skipped"
        assert "circuit" in (meta.attempts[0].skip_reason or "")
    state = account_row(router.snapshot().limits, "fake")
    assert state.in_flight == 0 and state.waiting == 0


async def test_a_call_refused_after_its_wait_falls_back(respx_mock: respx.MockRouter) -> None:
    """A call the breaker refuses after it waited moves on to the chain's next config, as
    one refused at the start does; only the breaker's allowance reaches the failing one."""
    failing = respx_mock.post(f"{BASE}/jobs").respond(500, json={"message": "down"})
    backup = respx_mock.post(f"{BACKUP}/jobs").mock(
        side_effect=[
            httpx.Response(200, json={"id": f"j{n}", "status": "queued"}) for n in range(CALLS)
        ]
    )
    respx_mock.get(url__regex=rf"{BACKUP}/jobs/j\d+").respond(
        200, json={"status": "done", "url": "https://x/v.mp4"}
    )
    chain = CONFIG.model_copy(
        update={
            "poll_interval": 0.001,
            "fallback_configs": [
                CONFIG.model_copy(
                    update={"base_url": BACKUP, "model": "t2v-b", "poll_interval": 0.001}
                )
            ],
        }
    )
    router = Router(
        limits={"fake/t2v": ProviderLimit(max_concurrent=1)},
        breakers=BreakerBoard(BreakerPolicy(failures=FAILURES), clock=Clock()),
    )
    outcomes = await run_all(router, chain)
    assert failing.call_count == FAILURES
    assert outcomes == ["https://x/v.mp4"] * CALLS
    assert backup.call_count == CALLS


def test_readmit_refuses_a_call_admitted_before_the_breaker_opened() -> None:
    """Admitted while closed, refused once it is open, with the reason."""
    breakers = BreakerBoard(BreakerPolicy(failures=1), clock=Clock())
    first = breakers.admit("fal", "m")
    breakers.record_failure("fal", "m", transient=True)
    again = breakers.readmit("fal", "m", first)
    assert not again.allowed and "circuit open" in (again.reason or "")
    breakers.record_success("fal", "other")
    assert breakers.readmit("fal", "other", breakers.admit("fal", "other")) == Admission(True)


def test_readmit_keeps_the_probe_and_admits_no_second_one() -> None:
    """Half-open: the probe admitted before its wait still goes as the probe; a call
    admitted while closed is refused while the probe is out, and becomes the probe when
    none is."""
    clock = Clock()
    breakers = BreakerBoard(BreakerPolicy(failures=1, cooldown=10), clock=clock)
    early = breakers.admit("fal", "m")  # admitted while closed
    breakers.record_failure("fal", "m", transient=True)
    clock.now = 10
    probe = breakers.admit("fal", "m")
    assert probe == Admission(True, probe=True)
    assert breakers.readmit("fal", "m", probe) == probe
    assert not breakers.readmit("fal", "m", early).allowed
    breakers.record_cancelled("fal", "m")  # the probe ended without a verdict
    assert breakers.readmit("fal", "m", early) == Admission(True, probe=True)
