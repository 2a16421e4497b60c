"""HTTP-level behaviour every provider module shares.

The context a provider module gets (job store, faults, media, settings), the responses that
model broken transports (a dropped connection, a truncated JSON body), wire formatting, and
the base of every provider's handler class (the order a request is checked in).
"""

from __future__ import annotations

import abc
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from tarash.emulator._contract import Leniency
from tarash.emulator._faults import FAULT_HEADER, Fault, FaultPlan, Operation, fault_from_header
from tarash.emulator._jobs import Job, JobState, JobStore, Outcome, hold_reply
from tarash.emulator._media import DEFAULT_MEDIA_KINDS, MediaFile, MediaKind, MediaKinds, MediaStore

# How a job-level fault makes the job it hits end.
_JOB_OUTCOMES = {
    "job_failure": Outcome.FAIL,
    "content_refusal": Outcome.REFUSE,
    "stuck": Outcome.HANG,
}


class ConnectionDropped(Exception):  # a signal, not an error condition
    """Raised inside a response to make uvicorn close the connection mid-body."""


class DroppedConnectionLogFilter(logging.Filter):
    """Hides uvicorn's "Exception in ASGI application" log for deliberate drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record except those caused by :class:`ConnectionDropped`."""
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


class DroppedConnectionResponse(Response):
    """Starts a 200 response, sends part of the body, then drops the TCP connection.

    uvicorn closes the transport when the app raises after the response started, so the
    client reads a truncated body against a larger ``Content-Length`` and httpx raises
    ``RemoteProtocolError``. That is what a reset connection or a crashed proxy looks like.
    """

    def __init__(self) -> None:
        super().__init__(status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send headers and a partial body, then raise to abort the connection."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"4096"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b'{"status": "', "more_body": True})
        raise ConnectionDropped


def malformed_json_response() -> Response:
    """A 200 whose JSON body is cut short (a broken proxy or a truncated read)."""
    return Response(b'{"status": "IN_PROGRESS", "request_id": ', media_type="application/json")


def json_response(
    body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Compact JSON, as the providers send it."""
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status_code,
        headers=dict(headers or {}),
        media_type="application/json",
    )


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as both fal and Replicate print times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def recorded_headers(request: Request, names: Iterable[str]) -> dict[str, str]:
    """The request's headers among ``names`` (lower-cased), to record on a job."""
    return {name: request.headers[name] for name in names if name in request.headers}


def job_outcome(job_fault: Fault | None) -> Outcome:
    """How a new job ends: as its job-level fault says, or successfully without one."""
    return Outcome.SUCCEED if job_fault is None else _JOB_OUTCOMES[job_fault.kind]


async def read_json(request: Request) -> Any:
    """The request body as JSON, or raise ``ValueError`` when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return None
    return json.loads(raw)


@dataclass(frozen=True, kw_only=True)
class ProviderOptions:
    """How one provider is emulated. Each provider has a subclass (``FalOptions``,
    ``ReplicateOptions``, ...) with its own settings; pass instances to
    ``Emulator(options=[...])``.

    Attributes:
        media_kinds: Exact model id -> what it makes (``MediaKind`` or ``"image"`` /
            ``"video"``), for models the provider's own table does not know. Checked before
            that table.
        lenient: Names (from the class's ``known_client_bugs``) of known client wire bugs
            to let through; empty (strict: every request is checked against the
            provider's contract) by default. Only a test that meets such a bug sets it.
    """

    #: The provider these options are for (its mount name).
    provider: ClassVar[str]

    #: The known client wire bugs this provider's check can let through, by name.
    known_client_bugs: ClassVar[Mapping[str, Leniency]] = MappingProxyType({})

    media_kinds: Mapping[str, MediaKind] = field(default_factory=dict)
    lenient: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        kinds: dict[str, MediaKind] = {}
        for model, kind in dict(self.media_kinds).items():
            try:
                kinds[model] = MediaKind(kind)
            except ValueError:
                raise ValueError(
                    f"media_kinds[{model!r}] must be 'image' or 'video', got {kind!r}"
                ) from None
        object.__setattr__(self, "media_kinds", MappingProxyType(kinds))
        unknown = sorted(set(self.lenient) - set(self.known_client_bugs))
        if unknown:
            raise ValueError(
                f"lenient names no known {self.provider} client bug: {unknown}; "
                f"known: {sorted(self.known_client_bugs)}"
            )
        object.__setattr__(self, "lenient", frozenset(self.lenient))

    def leniencies(self) -> list[Leniency]:
        """The leniencies in force."""
        return [self.known_client_bugs[name] for name in sorted(self.lenient)]


_Options = TypeVar("_Options", bound=ProviderOptions)


@dataclass(frozen=True)
class EmulatorContext:
    """Everything a provider module needs to serve requests.

    Attributes:
        store: The job store.
        faults: The fault plan.
        media: Registry of generated files.
        required_keys: Exact API key required per provider (absent: any non-empty key is
            accepted, which only ``Emulator(any_key=True)`` allows).
        provider_options: The options given per provider name (absent: the defaults).
    """

    store: JobStore
    faults: FaultPlan
    media: MediaStore
    required_keys: Mapping[str, str]
    provider_options: Mapping[str, ProviderOptions] = field(default_factory=dict)

    def options(self, kind: type[_Options]) -> _Options:
        """The options of ``kind``'s provider: the ones given, or ``kind()``'s defaults."""
        found = self.provider_options.get(kind.provider)
        return found if isinstance(found, kind) else kind()

    @staticmethod
    def origin(request: Request) -> str:
        """``scheme://host:port`` the client used, so returned URLs lead back here."""
        host = request.headers.get("host")
        if not host:
            server = request.scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{request.url.scheme}://{host}"

    def media_url(self, request: Request, media: MediaFile) -> str:
        """Register a file and return its absolute URL under ``/media/``."""
        self.media.add(media)
        return f"{self.origin(request)}/media/{media.file_name}"

    def key_accepted(self, provider: str, key: str) -> bool:
        """Whether ``key`` is acceptable for ``provider`` (non-empty, and exact if required)."""
        required = self.required_keys.get(provider)
        return bool(key) and (required is None or key == required)

    def request_fault(
        self, request: Request, provider: str, operation: Operation, model: str | None
    ) -> Fault | None:
        """The response-level fault for this request: the header first, then the plan."""
        from_header = fault_from_header(
            request.headers.get(FAULT_HEADER), operation, job_level=False
        )
        return from_header or self.faults.take(provider, operation, model, job_level=False)

    def job_fault(self, request: Request, provider: str, model: str) -> Fault | None:
        """The job-level fault for the job this submit creates."""
        from_header = fault_from_header(request.headers.get(FAULT_HEADER), "submit", job_level=True)
        return from_header or self.faults.take(provider, "submit", model, job_level=True)


@dataclass(frozen=True)
class Provider:
    """One provider protocol the emulator serves.

    Attributes:
        name: The provider name, also the mount path (``/fal``, ``/replicate``).
        fake_key: The API key :meth:`Emulator.api_key` hands out.
        build_routes: Makes the provider's routes, relative to its mount path.
        options: The provider's :class:`ProviderOptions` subclass.
        base_path: What a client's base URL adds to the mount (OpenAI's SDK and tarash
            take ``.../openai/v1`` as the base, the way ``https://api.openai.com/v1`` is).
    """

    name: str
    fake_key: str
    build_routes: Callable[[EmulatorContext], list[BaseRoute]]
    options: type[ProviderOptions]
    base_path: str = ""


class ProviderRoutes(abc.ABC):
    """A provider's handlers, bound to one emulator's context.

    The order a request is checked in (authentication, the job it names, an injected
    fault, not found) and what each fault kind does to a response are the same for every
    provider and live here; a subclass supplies its provider's bodies and lookups.
    """

    #: The provider name, as in :class:`Provider`.
    name: ClassVar[str]

    #: The provider's options class, as in :class:`Provider`.
    options_type: ClassVar[type[ProviderOptions]]

    #: What the provider's models make, by model id (the shared default unless the provider
    #: declares its own families). Routes whose endpoint fixes the kind (an images
    #: endpoint) need not consult it.
    media_kinds: ClassVar[MediaKinds] = DEFAULT_MEDIA_KINDS

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx

    def media_kind(self, model: str) -> MediaKind:
        """What ``model`` makes: the user's ``media_kinds`` option first, then the table."""
        override = self.ctx.options(self.options_type).media_kinds.get(model)
        return override if override is not None else self.media_kinds(model)

    @abc.abstractmethod
    def _auth_error(self, request: Request) -> Response | None:
        """The provider's 401 when the request's key is missing or refused, else None."""

    @abc.abstractmethod
    def _find(self, request: Request) -> Job | None:
        """The job the request's path names, or None."""

    @abc.abstractmethod
    def _not_found(self, operation: Operation) -> Response:
        """The provider's 404 for a request (doing ``operation``) that names an unknown job."""

    @abc.abstractmethod
    def _throttled_body(self, retry_after: float) -> Any:
        """The provider's 429 body for a ``rate_limit`` fault."""

    @abc.abstractmethod
    def _server_error(self, status_code: int) -> Response:
        """The provider's 5xx response for a ``server_error`` fault."""

    def _fault_response(self, fault: Fault) -> Response:
        """The response a request-level fault gives instead of the real one."""
        if fault.kind == "rate_limit":
            retry_after = fault.retry_after if fault.retry_after is not None else 1
            return json_response(
                self._throttled_body(retry_after), 429, {"retry-after": f"{retry_after:g}"}
            )
        if fault.kind == "server_error":
            return self._server_error(fault.status_code or 500)
        if fault.kind == "malformed_json":
            return malformed_json_response()
        return DroppedConnectionResponse()

    async def _screen_submit(self, request: Request, model: str | None) -> Response | Fault | None:
        """Check a submit before its body is parsed.

        Returns:
            A response to answer with instead (401, or a fault's); the
            ``drop_after_create`` fault, to act once the job exists; or None.
        """
        if denied := self._auth_error(request):
            return denied
        # Read the body before any fault: closing a socket with unread input makes the
        # kernel send RST, and the client must see a clean mid-response close instead.
        await request.body()
        fault = self.ctx.request_fault(request, self.name, "submit", model)
        if fault is not None and fault.kind != "drop_after_create":
            return self._fault_response(fault)
        return fault

    async def hold_for_client(self, request: Request, job: Job, bound: float) -> JobState | None:
        """Hold a synchronous API's reply until ``job`` ends (at most ``bound`` seconds).

        A job still running after ``bound`` is ended (counted cancelled). A client that
        leaves first cancels a stuck job (nothing else would ever end it); any other job
        runs on to its end, as a real generation would (and bills).

        Returns:
            The job's state when the hold ended, or ``None`` when the client went away.
        """
        state: JobState | None = None
        async with anyio.create_task_group() as group:

            async def watch_client() -> None:
                while (await request.receive())["type"] != "http.disconnect":
                    pass
                if job.outcome is Outcome.HANG:
                    self.ctx.store.cancel(job)
                group.cancel_scope.cancel()

            group.start_soon(watch_client)
            state = await hold_reply(job, bound)
            group.cancel_scope.cancel()
        if state is not None and not state.is_terminal:
            self.ctx.store.cancel(job)  # held past the bound
            state = job.state_at(time.monotonic())
        return state

    def _requested_job(self, request: Request, operation: Operation) -> Job | Response:
        """The job a request names, or the response that answers instead.

        Args:
            request: A request whose path names a job.
            operation: What the request does, for fault matching.

        Returns:
            The job; or the 401, the injected fault's response, or the 404, checked in
            that order.
        """
        if denied := self._auth_error(request):
            return denied
        job = self._find(request)
        if fault := self.ctx.request_fault(
            request, self.name, operation, job.model if job else None
        ):
            return self._fault_response(fault)
        if job is None:
            return self._not_found(operation)
        return job
