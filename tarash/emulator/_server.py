"""The :class:`Emulator`: one uvicorn server on a background thread serving every provider."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import ssl
import tempfile
import threading
import warnings
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio.to_thread
import uvicorn

from tarash.emulator._app import PROVIDERS, build_app
from tarash.emulator._faults import Fault, FaultPlan
from tarash.emulator._jobs import EmulatorStats, JobSnapshot, JobStore, Latency
from tarash.emulator._media import MediaStore
from tarash.emulator._wire import DroppedConnectionLogFilter, EmulatorContext, ProviderOptions
from tarash.emulator.replicate import ReplicateOptions, ReplicateOutput

#: Longest wait for the server to come up (it normally takes a few milliseconds).
STARTUP_TIMEOUT_SECONDS = 5.0

#: How long shutdown lets in-flight requests (held creates, SSE streams) finish.
SHUTDOWN_GRACE_SECONDS = 1

#: How long an idle connection stays open. uvicorn's default (5 s) is shorter than the
#: client's pool keeps one (30 s): a request sent on a pooled connection just as the server
#: closes it fails with "Server disconnected" (a lost submit, when it was a create). The
#: load balancers in front of providers keep idle connections for a minute or more.
IDLE_TIMEOUT_SECONDS = 75

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

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # asyncio closes a TLS connection by waiting for the peer's close_notify, which an
        # idle pooled client sends only when it next reads: stop() would sit out the grace
        # period and leave the sockets unclosed. Idle connections are aborted (as a server
        # restart drops them); busy ones get the grace period, then are aborted too.
        for connection in list(self.server_state.connections) if self.config.is_ssl else []:
            cycle = getattr(connection, "cycle", None)
            if cycle is None or cycle.response_complete:
                connection.transport.abort()
        await super().shutdown(sockets=sockets)
        for connection in list(self.server_state.connections):
            connection.transport.abort()


@dataclass(frozen=True)
class _TLSFiles:
    """A locally generated CA and the server certificate it signed, as PEM files."""

    directory: Path
    ca_path: Path
    server_pem: Path

    @classmethod
    def create(cls, host: str) -> _TLSFiles:
        # Imported here: trustme (and cryptography) are needed only when TLS is asked for.
        import trustme

        ca = trustme.CA(organization_name="tarash emulator")
        names = ["127.0.0.1", "localhost", "::1"]
        if host not in (*names, "0.0.0.0", "::"):
            names.append(host)
        directory = Path(tempfile.mkdtemp(prefix="tarash-emulator-tls-"))
        ca_path = directory / "ca.pem"
        server_pem = directory / "server.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        ca.issue_cert(*names).private_key_and_cert_chain_pem.write_to_path(str(server_pem))
        return cls(directory, ca_path, server_pem)


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
            accept only the key :meth:`api_key` hands out (the one the emulator prints),
            as a real provider accepts only its own keys, unless ``any_key`` is set.
        any_key: Accept any non-empty key for the providers ``required_keys`` does not
            list (a lenient emulator: a wrong key then passes, which no real provider lets
            through).
        options: Per-provider settings, at most one per provider
            (``[ReplicateOptions(output="data_uri")]``); providers not listed use defaults.
        tls: Serve HTTPS with a certificate from a CA generated for this emulator (needs
            ``trustme``, in the ``emulator`` extra); clients trust it through
            :attr:`ca_path` (``SSL_CERT_FILE``) or :meth:`client_ssl_context` (``verify=``).
        replicate_output: Deprecated: use ``options=[ReplicateOptions(output=...)]``.

    Raises:
        ValueError: For unknown providers in ``required_keys`` or ``options``, or two
            options for one provider.
        TypeError: For an option that is not that provider's options class.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: Latency | None = None,
        faults: Iterable[Fault] = (),
        required_keys: Mapping[str, str] | None = None,
        any_key: bool = False,
        options: Iterable[ProviderOptions] = (),
        tls: bool = False,
        replicate_output: ReplicateOutput | None = None,
    ) -> None:
        given = list(options)
        if replicate_output is not None:
            warnings.warn(
                "Emulator(replicate_output=...) is deprecated; "
                "pass options=[ReplicateOptions(output=...)] instead",
                DeprecationWarning,
                stacklevel=2,
            )
            if any(isinstance(option, ReplicateOptions) for option in given):
                raise ValueError("pass replicate_output or ReplicateOptions, not both")
            given.append(ReplicateOptions(output=replicate_output))
        unknown = set(required_keys or {}) - set(PROVIDERS)
        if unknown:
            raise ValueError(f"required_keys names unknown providers: {sorted(unknown)}")
        self._host = host
        self._port = port
        self._required_keys = dict(required_keys or {})
        # Without any_key every provider takes only its own printed key (or the required one).
        accepted = {} if any_key else {name: entry.fake_key for name, entry in PROVIDERS.items()}
        self._ctx = EmulatorContext(
            store=JobStore(latency or Latency()),
            faults=FaultPlan(tuple(faults)),
            media=MediaStore(),
            required_keys={**accepted, **self._required_keys},
            provider_options=_options_by_provider(given),
        )
        self._tls = _TLSFiles.create(host) if tls else None
        if self._tls is not None:
            # The CA file outlives stop() (a client may still hold the path, and a stopped
            # emulator can start again); it goes when the emulator is collected or at exit.
            weakref.finalize(self, shutil.rmtree, self._tls.directory, ignore_errors=True)
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
            timeout_keep_alive=IDLE_TIMEOUT_SECONDS,
            ssl_certfile=None if self._tls is None else str(self._tls.server_pem),
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
        """The server root, ``http://host:port`` (``https://`` with ``tls=True``)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        if host in ("0.0.0.0", "[::]"):  # bound everywhere, reach it on loopback
            host = "127.0.0.1"
        scheme = "http" if self._tls is None else "https"
        return f"{scheme}://{host}:{self._port}"

    @property
    def tls(self) -> bool:
        """Whether it serves HTTPS."""
        return self._tls is not None

    @property
    def ca_path(self) -> Path:
        """The PEM file of the CA that signed the server's certificate (``tls=True`` only).

        Point ``SSL_CERT_FILE`` at it (tarash, httpx and the official SDKs read it), or
        pass :meth:`client_ssl_context` as an httpx client's ``verify=``.

        Raises:
            RuntimeError: If the emulator serves plain HTTP.
        """
        if self._tls is None:
            raise RuntimeError("the emulator serves plain HTTP; create it with tls=True")
        return self._tls.ca_path

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts this emulator (and nothing else).

        Raises:
            RuntimeError: If the emulator serves plain HTTP.
        """
        return ssl.create_default_context(cafile=str(self.ca_path))

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        return self._port

    def base_url(self, provider: str) -> str:
        """The base URL to configure a client with, e.g. ``http://127.0.0.1:8787/fal``.

        fal clients append ``/{model_id}``; Replicate clients append ``/v1/...``; Stability
        clients append ``/v2beta/stable-image/generate/{ultra|core|sd3}``. OpenAI's base
        ends in ``/v1`` (``http://127.0.0.1:8787/openai/v1``, as ``api.openai.com/v1``);
        Azure's is the resource endpoint (``.../azure_openai``; clients add ``/openai/...``).
        Runway clients append ``/v1/...`` (``.../runway``, as ``api.dev.runwayml.com``).

        Raises:
            KeyError: For a provider the emulator does not serve.
        """
        _check_provider(provider)
        return f"{self.url}/{provider}{PROVIDERS[provider].base_path}"

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

    def peak_concurrency(self, provider: str | None = None) -> int:
        """The most jobs of every provider (or one) unfinished at one instant so far."""
        if provider is not None:
            _check_provider(provider)
        return self._ctx.store.peak_concurrency(provider)

    def jobs(self, provider: str | None = None) -> list[JobSnapshot]:
        """Snapshots of every job in submit order, for every provider or one."""
        if provider is not None:
            _check_provider(provider)
        return self._ctx.store.snapshots(provider)


def _options_by_provider(options: Iterable[ProviderOptions]) -> dict[str, ProviderOptions]:
    found: dict[str, ProviderOptions] = {}
    for option in options:
        if not isinstance(option, ProviderOptions):
            raise TypeError(f"options take ProviderOptions instances, got {option!r}")
        name = getattr(option, "provider", None)  # the base class names no provider
        provider = PROVIDERS.get(name) if isinstance(name, str) else None
        if provider is None:
            raise ValueError(f"options name an unknown provider: {name!r}")
        if not isinstance(option, provider.options):
            raise TypeError(
                f"options for {provider.name!r} must be {provider.options.__name__}, "
                f"got {type(option).__name__}"
            )
        if provider.name in found:
            raise ValueError(f"two options for {provider.name!r}")
        found[provider.name] = option
    return found


def _check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise KeyError(f"unknown provider {provider!r}; the emulator serves {sorted(PROVIDERS)}")
