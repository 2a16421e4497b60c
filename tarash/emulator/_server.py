"""The :class:`Emulator`: one uvicorn server on a background thread serving every provider."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Self

import anyio.to_thread
import uvicorn

from tarash.emulator._app import PROVIDERS, build_app
from tarash.emulator._faults import Fault, FaultPlan
from tarash.emulator._jobs import EmulatorStats, JobSnapshot, JobStore, Latency
from tarash.emulator._media import MediaStore
from tarash.emulator._wire import DroppedConnectionLogFilter, EmulatorContext, ReplicateOutput

#: Longest wait for the server to come up (it normally takes a few milliseconds).
STARTUP_TIMEOUT_SECONDS = 5.0

#: How long shutdown lets in-flight requests (held creates, SSE streams) finish.
SHUTDOWN_GRACE_SECONDS = 1

_DROP_FILTER = DroppedConnectionLogFilter()


class _Server(uvicorn.Server):
    """uvicorn with a thread-safe "started" signal instead of a flag to poll."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class Emulator:
    """A local server speaking the providers' real wire protocols.

    Example:
        ```python
        with Emulator(latency=Latency(queue_seconds=0, run_seconds=0.1)) as emu:
            base = emu.base_url("fal")  # http://127.0.0.1:<port>/fal
            emu.inject(Fault("rate_limit", provider="fal", operation="submit"))
            ...
            assert emu.stats().running == 0
        ```

    Args:
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        latency: How long jobs queue and run (changeable later through :attr:`latency`).
        faults: Faults armed from the start.
        required_keys: Exact API key per provider (``{"fal": "..."}``); providers not listed
            accept any well-formed key.
        replicate_output: ``"url"`` (default) or ``"data_uri"`` for Replicate outputs.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: Latency | None = None,
        faults: Iterable[Fault] = (),
        required_keys: Mapping[str, str] | None = None,
        replicate_output: ReplicateOutput = "url",
    ) -> None:
        if replicate_output not in ("url", "data_uri"):
            raise ValueError("replicate_output must be 'url' or 'data_uri'")
        unknown = set(required_keys or {}) - set(PROVIDERS)
        if unknown:
            raise ValueError(f"required_keys names unknown providers: {sorted(unknown)}")
        self._host = host
        self._port = port
        self._required_keys = dict(required_keys or {})
        self._ctx = EmulatorContext(
            store=JobStore(latency or Latency()),
            faults=FaultPlan(tuple(faults)),
            media=MediaStore(),
            required_keys=self._required_keys,
            replicate_output=replicate_output,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = f"serving {self.url}" if self._server is not None else "stopped"
        return f"<Emulator {state} stats={self.stats()}>"

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the port and serve on a background thread; returns once it accepts requests.

        Raises:
            RuntimeError: If it is already running or the server failed to start.
        """
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when
        # the listener says TCP, and without it Nagle + delayed ACK add ~40 ms per response.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self._ctx),
            lifespan="off",
            log_config=None,  # never reconfigure the host application's logging
            log_level="warning",
            access_log=False,
            ws="none",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        server = _Server(config)
        logging.getLogger("uvicorn.error").addFilter(_DROP_FILTER)
        thread = threading.Thread(
            target=self._serve,
            args=(server, sock),
            name=f"tarash-emulator:{self._port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        server.ready.wait(STARTUP_TIMEOUT_SECONDS)
        if not server.started:
            self.stop()
            raise RuntimeError(f"the emulator failed to start on {self._host}:{self._port}")
        return self

    @staticmethod
    def _serve(server: _Server, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            server.ready.set()
            sock.close()

    def stop(self) -> None:
        """Stop serving and join the thread. Safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    # -- addresses and keys -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server root, ``http://host:port``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        if host in ("0.0.0.0", "[::]"):  # bound everywhere, reach it on loopback
            host = "127.0.0.1"
        return f"http://{host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        return self._port

    def base_url(self, provider: str) -> str:
        """The base URL to configure a client with, e.g. ``http://127.0.0.1:8787/fal``.

        fal clients append ``/{model_id}``; Replicate clients append ``/v1/...``.

        Raises:
            KeyError: For a provider the emulator does not serve.
        """
        _check_provider(provider)
        return f"{self.url}/{provider}"

    def api_key(self, provider: str) -> str:
        """A key the emulator accepts for ``provider`` (the required one, if set)."""
        _check_provider(provider)
        return self._required_keys.get(provider, PROVIDERS[provider].fake_key)

    # -- behaviour ----------------------------------------------------------------------

    @property
    def latency(self) -> Latency:
        """Latency for jobs submitted from now on (jobs keep the one they started with)."""
        return self._ctx.store.latency

    @latency.setter
    def latency(self, value: Latency) -> None:
        self._ctx.store.latency = value

    def inject(self, fault: Fault) -> None:
        """Arm a fault (thread-safe; takes effect on the next matching request)."""
        self._ctx.faults.inject(fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._ctx.faults.clear()

    def pending_faults(self) -> list[Fault]:
        """The faults not yet used up."""
        return self._ctx.faults.pending()

    # -- accounting ---------------------------------------------------------------------

    def stats(self, provider: str | None = None) -> EmulatorStats:
        """Job totals right now, for every provider or one."""
        if provider is not None:
            _check_provider(provider)
        return self._ctx.store.stats(provider)

    def jobs(self, provider: str | None = None) -> list[JobSnapshot]:
        """Snapshots of every job in submit order, for every provider or one."""
        if provider is not None:
            _check_provider(provider)
        return self._ctx.store.snapshots(provider)


def _check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise KeyError(f"unknown provider {provider!r}; the emulator serves {sorted(PROVIDERS)}")
