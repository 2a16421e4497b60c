"""The pooled clients: one set per event loop, closed when the loop's run ends, nothing kept
for dead loops."""

from __future__ import annotations

import gc
import weakref

import anyio
import httpx
import pytest

from tarash.tarash_gateway.engine import _http


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_pools_close_when_the_run_ends_and_are_forgotten(backend: str) -> None:
    """Each run gets its own pools; they are closed at its end and not kept afterwards."""
    clients: list[httpx.AsyncClient] = []
    run_keys: list[weakref.ref[object]] = []
    gc.collect()
    closers_before = len(_http._closers)

    async def use_pool() -> None:
        first, _ = _http.pick_connection()
        again, _ = _http.pick_connection()
        long_lived, _ = _http.pick_connection(long_lived=True)
        assert long_lived is not first
        clients.extend([first, again])
        run_keys.append(weakref.ref(_http._current_loop_key()))

    for _ in range(3):
        anyio.run(use_pool, backend=backend)
    gc.collect()
    assert all(client.is_closed for client in clients)
    assert len({id(client) for client in clients[::2]}) == 3  # a new pool per run
    assert len(_http._closers) == closers_before
    # Checked per run, not by counting every pool: an earlier test's dead loop may be
    # collected during this one, which made a count come out lower than it began.
    for ref in run_keys:
        key = ref()
        assert key is None or key not in _http._resources


def test_least_busy_shard_is_picked() -> None:
    """Requests spread over the shards: the one with the most free slots is chosen."""

    async def check() -> None:
        _, first = _http.pick_connection()
        async with first:
            _, second = _http.pick_connection()
            assert second is not first

    anyio.run(check)


def test_mounted_transports_serve_their_origin_while_mounted() -> None:
    """A mounted transport answers for its origin on every pool of the loop, the network
    for the others; leaving the block rebuilds the pools without it."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"served": "in process"})

    async def check() -> None:
        before, _ = _http.pick_connection()
        with _http.mount_transports({"http://127.0.0.1:9": httpx.MockTransport(answer)}):
            short, _ = _http.pick_connection()
            long_lived, _ = _http.pick_connection(long_lived=True)
            assert short is not before  # the loop's pools were rebuilt with the mount
            assert (await short.get("http://127.0.0.1:9/a")).json() == {"served": "in process"}
            assert (await long_lived.get("http://127.0.0.1:9/b")).status_code == 200
            with pytest.raises(httpx.ConnectError):  # other origins still go to the network
                await short.get("http://127.0.0.1:19/unmounted")
        after, _ = _http.pick_connection()
        assert after is not short
        with pytest.raises(httpx.ConnectError):
            await after.get("http://127.0.0.1:9/c")

    anyio.run(check)
    assert seen == ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"]
