"""The Router's surface: the module's functions as methods, and the default router."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
import respx

import tarash.tarash_gateway as gateway
from tarash.tarash_gateway import ProviderLimit, Router, configure, router
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tests._limit_rows import account_row
from tests.unit.fake_provider import BASE, FAKE_KEY

METHODS = (
    "generate_video",
    "generate_image",
    "submit_video",
    "submit_image",
    "wait",
    "status",
    "cancel",
)


@pytest.fixture
def restored_default() -> Iterator[None]:
    """Put the default router back as it was after the test."""
    saved = router.default_router()
    yield
    router._default = saved


def parameters(function: object) -> list[inspect.Parameter]:
    values = list(inspect.signature(function).parameters.values())  # type: ignore[arg-type]
    return [value for value in values if value.name != "self"]


@pytest.mark.parametrize("name", METHODS)
def test_each_method_pair_matches_and_matches_the_module_function(name: str) -> None:
    """Router.x and Router.x_async take the module function's parameters (but the
    ``router=`` the module function is told which router to run on with)."""
    module_params = [p for p in parameters(getattr(gateway, name)) if p.name != "router"]
    assert parameters(getattr(Router, name)) == module_params
    assert parameters(getattr(Router, f"{name}_async")) == module_params
    assert inspect.iscoroutinefunction(getattr(Router, f"{name}_async"))


def test_configure_replaces_the_default_router_the_module_functions_use(
    restored_default: None, respx_mock: respx.MockRouter
) -> None:
    """After configure(limits=...), generate_video counts its job on the new router."""
    respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "queued"})
    respx_mock.get(f"{BASE}/jobs/j1").respond(200, json={"status": "done", "url": "https://v"})
    configured = configure(limits={"fake": ProviderLimit(max_concurrent=1)})
    assert router.default_router() is configured
    config = VideoGenerationConfig(
        provider="fake", model="t2v", api_key=FAKE_KEY, base_url=BASE, poll_interval=0.001
    )
    gateway.generate_video(config, VideoGenerationRequest(prompt="a cat", duration_seconds=4))
    state = account_row(configured.snapshot().limits, "fake")
    assert (state.max_concurrent, state.in_flight) == (1, 0)


def test_the_repr_shows_the_strategy() -> None:
    """A router's repr says how it runs chains."""
    assert "strategy='hedge'" in repr(Router(strategy="hedge"))
