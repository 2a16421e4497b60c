"""The protocol every provider client implements, and the plain data it trades in.

A provider module maps the unified request to its wire format and its replies back; it
does nothing else. HTTP, retries, polling, deadlines, cancellation on give-up, fallback and
metadata live once, outside the providers.
"""

from __future__ import annotations

import abc
import inspect
import io
import logging
import os
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import SecretStr

from tarash.tarash_gateway._validate import check_url, is_well_formed_url
from tarash.tarash_gateway.engine._http import (
    UNKNOWN_CALL,
    CallContext,
    Operation,
    RequestContext,
    reply_object,
    response_json,
    same_origin,
    send,
    stream,
    submit_may_have_created_job,
)
from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState
from tarash.tarash_gateway.engine._redact import scrub_exception
from tarash.tarash_gateway.errors import (
    GenerationFailedError,
    NotFoundError,
    ProviderServerError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    JobHandle,
    MediaContent,
    VideoGenerationRequest,
)
from tarash.tarash_gateway.providers._credentials import ApiKey, Credentials
from tarash.tarash_gateway.providers._lifecycle import Retirement, warn_retired
from tarash.tarash_gateway.providers._spec import (
    JobKind,
    ModelCapabilities,
    ModelSpec,
    find_spec,
    map_request,
    user_mapped_spec,
)

__all__ = [
    "MAX_ERROR_TEXT",
    "AcceptedSubmit",
    "AnsweredSubmit",
    "ErrorBody",
    "ImageOutput",
    "JobKind",
    "JobUrls",
    "ModelCapabilities",
    "PreparedJob",
    "ProviderClient",
    "ProviderSettings",
    "SubmittedJob",
    "VideoOutput",
]

logger = logging.getLogger("tarash")

_E = TypeVar("_E", bound=BaseException)

_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
"""A job id as providers issue them (UUIDs, base32 ids). Ids go into the URLs that receive
the key, so anything else (a slash, a query, whitespace) is not taken from a reply."""


@dataclass(slots=True)
class PreparedJob:
    """A request mapped to one provider's wire input, ready to submit.

    Attributes:
        kind: Video or image.
        model: The provider's model id.
        payload: The body (or input object) the provider expects.
        adaptations: Human-readable notes of every value changed to fit the model.
        summary: The duration, resolution and aspect ratio actually asked for.
    """

    kind: JobKind
    model: str
    payload: dict[str, Any]
    adaptations: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AcceptedSubmit:
    """A submit the provider accepted (any 2xx), and the id of the job it created.

    Attributes:
        job_id: The job's id, from the reply's body or, when that could not be read, from
            its headers.
        body: The reply's JSON object; ``None`` when the body could not be read (cut
            short, garbled), so it says nothing about the job's state.
        status_code: The reply's HTTP status.
    """

    job_id: str
    body: dict[str, Any] | None
    status_code: int


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """A failed reply's body, read the ways an error mapping needs it.

    Attributes:
        fields: Its JSON object; ``{}`` when the body is not one (an HTML error page), so
            a mapping reads ``fields.get(...)`` without checking.
        text: When the body is not a JSON object, its text, stripped and cut to
            :data:`MAX_ERROR_TEXT` characters, for the message; ``""`` otherwise (the
            fields say what there is to say).
        raw: What the error's ``raw_response`` keeps: the parsed JSON, else the text.
    """

    fields: dict[str, Any]
    text: str
    raw: Any


MAX_ERROR_TEXT = 500
"""How much of a non-JSON error body a message or ``raw_response`` keeps."""


@dataclass(frozen=True, slots=True)
class JobUrls:
    """The URLs of one job as a provider builds them from the job's id.

    Used wherever a reply or a (resumed, possibly edited) handle gives none on the API's
    origin; ``None`` where the provider builds no such URL.
    """

    status: str | None = None
    result: str | None = None
    cancel: str | None = None


@dataclass(slots=True)
class VideoOutput:
    """The media of a finished video job, as the provider gave it.

    ``video`` is a URL, or a :class:`MediaContent` dict of bytes the provider answered
    with (or that were downloaded as published does, OpenAI's content); plain bytes only
    from the mock and custom handlers.
    """

    video: str | bytes | MediaContent
    content_type: str | None = None
    audio_url: str | None = None
    duration: float | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    expires_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ImageOutput:
    """The media of a finished image job, as the provider gave it: each image a URL, or a
    ``data:`` URI where the provider answered with the bytes (the published shape)."""

    images: list[str]
    content_type: str | None = None
    revised_prompt: str | None = None
    expires_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SubmittedJob:
    """What a submit returns: the handle, and the first snapshot if the reply carried one."""

    handle: JobHandle
    snapshot: JobSnapshot | None = None


@dataclass(slots=True, init=False)
class AnsweredSubmit(SubmittedJob):
    """A submit whose reply was the whole answer: the provider made the media in the
    request (OpenAI and Google images, Stability) and keeps no job to poll, read or
    cancel, so the attempt takes the output from here and never calls ``poll``,
    ``fetch_*`` or ``cancel`` for it.

    Attributes:
        handle: Names the request (the reply's request id, else a local one) in the
            metadata, the hooks and a batch's ledger; no URL of it is ever called.
        snapshot: The answer, terminal: COMPLETED with the reply's body (its base64
            replaced by notes), or FAILED with its error (a refusal, a body that could
            not be read, a reply without media).
        output: The media when the snapshot is COMPLETED; ``None`` when it failed.
    """

    snapshot: JobSnapshot
    output: VideoOutput | ImageOutput | None

    def __init__(
        self,
        handle: JobHandle,
        snapshot: JobSnapshot,
        output: VideoOutput | ImageOutput | None = None,
    ) -> None:
        if snapshot.state is JobState.COMPLETED and output is None:
            raise ValueError("a completed answer carries its output")
        if not snapshot.state.is_terminal:
            raise ValueError("an answer in the request is terminal")
        self.handle = handle
        self.snapshot = snapshot
        self.output = output

    @classmethod
    def failed(
        cls, handle: JobHandle, raw: dict[str, Any], error: TarashException
    ) -> AnsweredSubmit:
        """The answer of a request that made nothing usable (refused, unreadable, empty)."""
        return cls(handle, JobSnapshot(JobState.FAILED, raw, error=error))

    @classmethod
    def completed(
        cls, handle: JobHandle, raw: dict[str, Any], output: VideoOutput | ImageOutput
    ) -> AnsweredSubmit:
        """The answer of a request that made its media."""
        return cls(handle, JobSnapshot(JobState.COMPLETED, raw, progress_percent=100), output)


@dataclass(slots=True)
class ProviderSettings:
    """Where and as whom a provider client talks; built from a config or a handle."""

    model: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_version: str | None = None
    provider_config: Mapping[str, Any] = field(default_factory=dict)
    max_attempts: int = 4
    deadline: float | None = None


class ProviderClient(abc.ABC):
    """One provider's wire protocol.

    Subclasses set the class attributes, implement the abstract methods, and call
    :meth:`_send` for every request (it adds auth, retries and error mapping).
    """

    name: ClassVar[str]
    """Registry name, as written in ``config.provider``."""
    default_base_url: ClassVar[str]
    """Used when neither the config nor ``TARASH_<NAME>_BASE_URL`` (e.g. an emulator) says."""
    credentials: Credentials | None = None
    """How the client finds, sends and hides its key (see ``_credentials``); a client
    that names none overrides :meth:`auth_headers` and reads :attr:`key_env_vars`."""
    key_env_vars: ClassVar[tuple[str, ...]]
    """Environment variables read for the key, in order (the official SDKs' names); taken
    from :attr:`credentials` when the client names one and not these."""
    supports_cancel: ClassVar[bool] = True
    cancel_deletes_finished: ClassVar[bool] = False
    """Whether :meth:`cancel` sent for a job that has already finished deletes it and its
    output (Runway's ``DELETE /v1/tasks/{id}``) rather than being a harmless no-op (fal's
    ``ALREADY_COMPLETED``, Replicate's cancel of a settled prediction). A paid output
    must never be destroyed: where this is True, a job whose status cannot be read first
    is never cancelled (see ``_jobs.look_then_cancel``)."""
    answers_in_request: ClassVar[frozenset[JobKind]] = frozenset()
    """Kinds of job the provider answers in the create's reply (no job to wait on later):
    ``submit_*`` refuses them before sending, since a handle could never read the result."""
    provider_config_options: ClassVar[frozenset[str]] = frozenset()
    """The ``provider_config`` keys this provider understands; any other is refused."""
    is_mock: ClassVar[bool] = False
    """True for the mock provider's client: its responses say ``is_mock``."""
    display_name: ClassVar[str] = ""
    """How messages name the provider (``"Replicate"``); the registry name when empty."""
    job_noun: ClassVar[str] = "job"
    """What the provider calls a job in messages (Replicate: ``"prediction"``)."""
    models: ClassVar[Mapping[str, ModelSpec]] = MappingProxyType({})
    """The model registry (see ``_spec``): model id or family -> spec."""
    generic_specs: ClassVar[Mapping[JobKind, ModelSpec]] = MappingProxyType({})
    """Per kind, the spec of a model id :attr:`models` does not know."""
    finds_jobs: ClassVar[bool] = False
    """Whether :meth:`find_jobs` can look a job up from what was sent (the provider lists
    recent jobs with their input): a batch whose run died between a submit and recording
    its reply then recovers the job by its id instead of flagging it."""
    min_poll_interval: ClassVar[float] = 0.0
    """The shortest wait between two status calls the provider asks of its clients, in
    seconds (Runway: 5); every poll schedule honours it (see :meth:`poll_floor`)."""

    def poll_floor(self) -> float:
        """The minimum wait between polls of this client's jobs: :attr:`min_poll_interval`
        (a provider may relax it where its rule does not apply, e.g. off its own host)."""
        return self.min_poll_interval

    @property
    def reports_progress(self) -> bool:
        """Whether the job's snapshots reach ``on_progress`` (the mock's, only when it
        simulates polling, as published)."""
        return True

    def __init__(self, settings: ProviderSettings) -> None:
        if self.credentials is None and type(self).auth_headers is ProviderClient.auth_headers:
            raise TypeError(
                f"{type(self).__name__} names no credentials: set credentials (an ApiKey, "
                "say) or override auth_headers"
            )
        self.settings = settings
        self.model = settings.model
        self.minted: SecretStr | None = None
        self.base_url = self.resolve_base_url(settings.base_url)
        unknown = sorted(set(settings.provider_config) - self.provider_config_options)
        if unknown:
            # A misspelt option would otherwise be ignored silently.
            raise self.refusal(
                f"unknown {self.name} provider_config option(s) {unknown}; "
                f"accepted: {sorted(self.provider_config_options)}"
            )
        self.request_context = RequestContext(
            provider=self.name,
            model=settings.model,
            parse_error=self._parse_error_redacted,
            max_attempts=settings.max_attempts,
            deadline=settings.deadline,
        )
        # Looked up once per client (once per attempt), so that a field mapping the user
        # registers meanwhile cannot change the model's spec between adapting and mapping.
        self._specs: dict[JobKind, ModelSpec | None] = {}

    @property
    def label(self) -> str:
        """The provider as messages name it."""
        return self.display_name or self.name

    @classmethod
    def resolve_base_url(cls, explicit: str | None = None) -> str:
        """The API base: ``explicit``, else ``TARASH_<NAME>_BASE_URL``, else the default.

        Raises:
            ValidationError: The environment variable holds a malformed URL (configs and
                handles check their own).
        """
        if explicit:
            return explicit.rstrip("/")
        variable = f"TARASH_{cls.name.upper()}_BASE_URL"
        from_env = os.environ.get(variable)
        if from_env:
            return check_url(from_env, variable).rstrip("/")
        return cls.default_base_url.rstrip("/")

    # -- credentials -------------------------------------------------------------------

    def key_strategy(self) -> Credentials:
        """This client's credentials strategy: :attr:`credentials`, else (a client that
        names none and sends its own :meth:`auth_headers`) a key read from
        :attr:`key_env_vars`."""
        return self.credentials or ApiKey(self.key_env_vars)

    def api_key(self) -> SecretStr:
        """Return the credential sent: the key from the settings or the environment,
        without surrounding whitespace (or a token, as the strategy says).

        Raises:
            AuthenticationError: No key was given or found (raised before any request).
            ValidationError: The key holds whitespace, control or non-ASCII characters
                inside (raised before any request; the key is not quoted).
        """
        return self.key_strategy().key(self)

    def secrets(self) -> list[str]:
        """Every value of this client's credential that must never appear in an output.

        The key as configured and as found in the environment, before its whitespace was
        stripped, the key actually sent, and any token minted.
        """
        return self.key_strategy().secrets(self)

    def scrub(self, error: _E) -> _E:
        """Scrub this client's key, in any spelling, from ``error`` and all it chains to."""
        return scrub_exception(error, self.secrets())

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request (never logged): the strategy's."""
        return self.key_strategy().headers(self)

    def download_headers(self, url: str) -> dict[str, SecretStr]:
        """Headers needed to download a result URL; none unless the provider asks for them."""
        return {}

    def keyed_download_headers(self) -> dict[str, SecretStr]:
        """:meth:`auth_headers` as a download's headers (secret): for a provider whose
        :meth:`download_headers` sends the key to its own hosts."""
        return {name: SecretStr(value) for name, value in self.auth_headers().items()}

    # -- mapping -----------------------------------------------------------------------

    def registry_id(self) -> str | None:
        """The id :attr:`models` is searched for: the configured model id by default
        (Replicate drops a pinned version); ``None`` when the id cannot be looked up."""
        return self.model

    def registered_spec(self) -> ModelSpec | None:
        """This client's model's entry in :attr:`models` (its own or its family's), if any."""
        key = self.registry_id()
        return find_spec(self.models, key) if key else None

    def spec_for(self, kind: JobKind) -> ModelSpec | None:
        """The spec requests of ``kind`` are mapped with.

        A field mapping the user registered for the model wins, then the model's registry
        entry, then the provider's generic spec for ``kind``; ``None`` when none applies.
        """
        if kind not in self._specs:
            found = user_mapped_spec(self.name, self.model, kind)
            if found is None:
                found = self.registered_spec() or self.generic_specs.get(kind)
            self._specs[kind] = found
        return self._specs[kind]

    def capabilities(self, kind: JobKind) -> ModelCapabilities:
        """What this client's model can do, for adapting and validating requests: its
        spec's capabilities, else "anything goes" (the provider decides)."""
        spec = self.spec_for(kind)
        return spec.capabilities if spec is not None else ModelCapabilities(kind=kind)

    def lifecycle(self) -> Retirement | None:
        """The retirement of this client's model, when its registry entry records one
        (``ModelSpec.lifecycle``); providers whose retirements are not per model (an API
        version going away) override it."""
        spec = self.registered_spec()
        return spec.lifecycle if spec is not None else None

    def warn_lifecycle(self) -> None:
        """Warn once per process that the model is retired (or deprecated), naming its
        successor; the request still goes out (a compatible endpoint may serve it).

        Called by :meth:`prepare_from_spec`; a provider that prepares otherwise calls it.
        """
        found = self.lifecycle()
        if found is not None:
            warn_retired(self.name, self.model, found)

    def retired_hint(self) -> str:
        """What a refusal of a retired model appends: ``" (<model> was retired on ...;
        use <successor>)"``, or ``""`` for an active model."""
        found = self.lifecycle()
        return "" if found is None else f" ({found.describe(self.model)})"

    def retired_model_error(self, error: TarashException) -> TarashException:
        """The provider's refusal of a retired model, as a :class:`NotFoundError` that
        names the successor; ``error`` itself when the model is active.

        Applied to every submit refused with 404 or 410; a provider whose refusal of a
        gone model has another status (a 400 ``model_not_found``) passes it here itself.
        """
        hint = self.retired_hint()
        if not hint or hint in error.message:
            return error
        return NotFoundError(
            f"{error.message}{hint}",
            provider=error.provider,
            model=error.model,
            request_id=error.request_id,
            raw_response=error.raw_response,
            status_code=error.status_code,
        )

    def prepare_from_spec(
        self, kind: JobKind, request: VideoGenerationRequest | ImageGenerationRequest
    ) -> PreparedJob:
        """Map ``request`` with :meth:`spec_for` ``(kind)``: the shared part of a prepare.

        Every value the request sets that the model has no input for is noted as not sent
        (refused under ``strict_parameters``), the same for every provider. The provider
        then shapes the payload to its wire (wraps it, adds what its API wants).

        Raises:
            ValidationError: The model needs an input the request lacks, or the provider
                has no spec for ``kind``.
        """
        spec = self.spec_for(kind)
        if spec is None:
            raise self.refusal(f"{self.label} has no {kind} mapping for {self.model}")
        self.warn_lifecycle()
        mapped = map_request(spec, request, model=self.model)
        return PreparedJob(
            kind=kind,
            model=self.model,
            payload=mapped.payload,
            adaptations=mapped.notes,
            summary=mapped.summary,
        )

    @abc.abstractmethod
    def prepare_video(self, request: VideoGenerationRequest) -> PreparedJob:
        """Map an (already adapted) video request to this provider's input.

        Raises:
            ValidationError: Something the model needs is missing.
        """

    @abc.abstractmethod
    def prepare_image(self, request: ImageGenerationRequest) -> PreparedJob:
        """Map an image request to this provider's input."""

    async def finish_prepared(self, job: PreparedJob) -> None:
        """Work on a prepared job too heavy for the event loop (decoding and resizing an
        image), done by the attempt after :meth:`prepare_video` / :meth:`prepare_image`
        and before anything is sent; it may change the payload, add adaptations or raise
        a :class:`ValidationError`. Default: nothing."""
        return None

    # -- lifecycle ---------------------------------------------------------------------

    @abc.abstractmethod
    async def submit(self, job: PreparedJob, *, time_left: float | None) -> SubmittedJob:
        """Create the job. ``time_left`` (seconds) lets providers set a server-side deadline."""

    @abc.abstractmethod
    async def poll(self, handle: JobHandle) -> JobSnapshot:
        """Return one status observation of the job."""

    def watch(self, handle: JobHandle) -> AsyncIterator[JobSnapshot] | None:
        """A push channel of snapshots (SSE, held requests), or ``None`` to poll."""
        return None

    @abc.abstractmethod
    async def fetch_video(self, handle: JobHandle, snapshot: JobSnapshot) -> VideoOutput:
        """Read the finished video.

        Raises:
            GenerationFailedError: The job ended with no video.
        """

    @abc.abstractmethod
    async def fetch_image(self, handle: JobHandle, snapshot: JobSnapshot) -> ImageOutput:
        """Read the finished image(s)."""

    @abc.abstractmethod
    async def cancel(self, handle: JobHandle) -> bool:
        """Ask the provider to stop the job; return whether it accepted."""

    async def find_jobs(
        self, job: PreparedJob, *, created_after: datetime, created_before: datetime
    ) -> list[JobHandle]:
        """The jobs of this model created in the window from exactly ``job``'s request.

        Only where :attr:`finds_jobs` is True. A read: nothing is created or cancelled.

        Args:
            job: The prepared job, as it was (or would have been) submitted.
            created_after: The earliest creation time to consider (UTC).
            created_before: The latest creation time to consider (UTC).

        Returns:
            Their handles, newest first (several when the same request was sent twice).

        Raises:
            TarashException: The provider cannot list its jobs, or the listing failed.
        """
        raise TarashException(
            f"{self.name} cannot look up its jobs by their request",
            provider=self.name,
            model=self.model,
            fallback_allowed=False,
        )

    @abc.abstractmethod
    def parse_error(
        self, response: httpx.Response, call: CallContext = UNKNOWN_CALL
    ) -> TarashException:
        """Map a non-success reply to exactly one error, reading the provider's body.

        Args:
            response: The reply, body read.
            call: The operation the reply answers and the job it concerns (read these
                here, never from state on the client: calls overlap). An override that
                takes only ``response`` (the earlier form) still works: it is called
                without ``call``.
        """

    # -- shared plumbing ---------------------------------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        named = cls.__dict__.get("credentials")
        if isinstance(named, Credentials) and "key_env_vars" not in cls.__dict__:
            cls.key_env_vars = named.env_vars
        # parse_error(self, response) was the protocol before the call context was passed
        # explicitly; a client written to it (a user's own) keeps working.
        kinds = [item.kind for item in inspect.signature(cls.parse_error).parameters.values()]
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        cls._parse_error_takes_call = (
            sum(kind in positional for kind in kinds) > 2
            or inspect.Parameter.VAR_POSITIONAL in kinds
        )

    _parse_error_takes_call: ClassVar[bool] = True

    def _parse_error_redacted(self, response: httpx.Response, call: CallContext) -> TarashException:
        """:meth:`parse_error`, with the key scrubbed from whatever the provider echoed."""
        if self._parse_error_takes_call:
            error = self.parse_error(response, call)
        else:
            error = self.parse_error(response)
        if call.operation == "submit" and response.status_code in (404, 410):
            error = self.retired_model_error(error)
        return self.scrub(error)

    def trusted_url(self, url: object, fallback: str) -> str:
        """``url`` when it is on the configured API origin, else ``fallback``.

        URLs from replies (or from a resumed handle, which could have been edited) receive
        the key, so nothing off the API's own origin is followed; nor is a malformed one
        (urllib drops a tab when comparing origins, httpx refuses it when sending, and a
        handle holding it would fail validation after the job was paid for).
        """
        return url if is_well_formed_url(url) and same_origin(url, self.base_url) else fallback

    def _trusted_or_built(self, url: object, built: str | None) -> str | None:
        if is_well_formed_url(url) and same_origin(url, self.base_url):
            return url
        return built

    def job_urls(self, job_id: str) -> JobUrls:
        """The status, result and cancel URLs of job ``job_id``, built from :attr:`base_url`.

        Used wherever a reply or a handle names none on the API's origin; providers whose
        URLs follow from the id override it. None by default.
        """
        return JobUrls()

    def new_handle(
        self,
        kind: JobKind,
        job_id: str,
        *,
        status_url: object = None,
        result_url: object = None,
        cancel_url: object = None,
        provider_state: Mapping[str, Any] | None = None,
    ) -> JobHandle:
        """The handle of a job this client just submitted.

        Args:
            kind: Video or image.
            job_id: The provider's id of the job.
            status_url: The status URL the reply named, if any: kept only when it is on
                the API's origin (it will receive the key), else :meth:`job_urls`' own.
            result_url: Likewise for the result.
            cancel_url: Likewise for cancelling.
            provider_state: Facts the provider needs later (the result given at submit).

        Returns:
            A handle stamped with this client's provider, model, base URL, API version
            and the time of submission.
        """
        built = self.job_urls(job_id)
        return JobHandle(
            kind=kind,
            provider=self.name,
            model=self.model,
            request_id=job_id,
            base_url=self.base_url,
            status_url=self._trusted_or_built(status_url, built.status),
            result_url=self._trusted_or_built(result_url, built.result),
            cancel_url=self._trusted_or_built(cancel_url, built.cancel),
            # A config may hold an empty version (none); a handle may not.
            api_version=self.settings.api_version or None,
            submitted_at=datetime.now(UTC),
            provider_state=dict(provider_state or {}),
        )

    def job_url(self, handle: JobHandle, which: Literal["status", "result", "cancel"]) -> str:
        """The URL to ``which`` a job at: the handle's, when it is on the API's origin (a
        resumed handle may have been edited, so it is checked on every use), else the one
        :meth:`job_urls` builds.

        Raises:
            ValidationError: Neither the handle nor the provider has one.
        """
        given = getattr(handle, f"{which}_url")
        url = self._trusted_or_built(given, getattr(self.job_urls(handle.request_id), which))
        if url is None:
            raise self.refusal(
                f"the handle names no {which} URL on {self.base_url} and {self.label} builds none",
                request_id=handle.request_id,
            )
        return url

    def no_job_to_read(self, handle: JobHandle) -> ValidationError:
        """The refusal of a poll or result read for a handle of a kind this client answers
        in the request (:attr:`answers_in_request`): the reply was the whole answer, and the
        provider keeps nothing to read later."""
        return self.refusal(
            f"{self.label} {handle.kind}s are returned by the create itself: the job's "
            "handle has nothing left to wait for",
            request_id=handle.request_id,
        )

    def refusal(self, message: str, *, request_id: str | None = None) -> ValidationError:
        """The error for a request (or handle, or option) this client refuses before
        sending anything: a :class:`ValidationError` no fallback follows, since another
        provider would be given the same mistake."""
        return ValidationError(
            message,
            provider=self.name,
            model=self.model,
            request_id=request_id,
            fallback_allowed=False,
        )

    @staticmethod
    def error_body(response: httpx.Response) -> ErrorBody:
        """The body of a failed reply, for :meth:`parse_error` (see :class:`ErrorBody`)."""
        parsed = response_json(response)
        if isinstance(parsed, dict):
            return ErrorBody(fields=parsed, text="", raw=parsed)
        text = response.text.strip()[:MAX_ERROR_TEXT]
        return ErrorBody(fields={}, text=text, raw=parsed if parsed is not None else text)

    def error_origin(
        self, request_id: str | None = None, raw_response: Any = None
    ) -> dict[str, Any]:
        """Where an error comes from, as keyword arguments of any tarash error:
        ``GenerationFailedError(message, **self.error_origin(job_id, body))``."""
        return {
            "provider": self.name,
            "model": self.model,
            "request_id": request_id,
            "raw_response": raw_response,
        }

    def unknown_status(
        self, body: dict[str, Any], status: object, *, request_id: str | None = None
    ) -> JobSnapshot:
        """The snapshot of a status this client does not know: FAILED for the waiter, not
        ``understood`` (the job may still be running there, so it is cancelled)."""
        return JobSnapshot(
            JobState.FAILED,
            body,
            error=GenerationFailedError(
                f"{self.label} reported an unknown {self.job_noun} status {status!r}",
                **self.error_origin(request_id, body),
            ),
            understood=False,
        )

    async def _send(
        self,
        operation: Operation,
        method: str,
        url: str,
        *,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send an authenticated request through the shared client and retry policy.

        A submit that fails after it may have reached the provider (no reply, a 5xx other
        than 503) may still have created a job nobody can cancel: its error is flagged
        ``job_may_exist`` and a warning is logged.
        """
        await self.key_strategy().refresh(self)
        merged = {**self.auth_headers(), **(headers or {})}
        try:
            return await send(
                self.request_context,
                operation,
                method,
                url,
                request_id=request_id,
                headers=merged,
                **kwargs,
            )
        except TarashException as exc:
            # Whatever a lower layer put in the error (h11 quoting a rejected header, a
            # provider echoing the key) loses this client's key before anyone sees it.
            self.scrub(exc)
            if operation == "submit" and submit_may_have_created_job(exc):
                self._flag_untracked_job(exc)
            raise

    async def read_job(
        self,
        handle: JobHandle,
        operation: Literal["status", "result"],
        *,
        at: Literal["status", "result"] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``GET`` a job's status or result and return the reply's JSON object.

        A reply that is not one (cut short, garbled) says nothing about the job: it is
        retried, then raised as a retryable :class:`ProviderServerError`, never taken for
        an answer (a finished job read as "no output" would buy a fallback for a job that
        was paid for).

        Args:
            handle: The job.
            operation: What the read is for (decides the retry rules and the counters).
            at: Which of the job's URLs (:meth:`job_url`) to read, when not the one named
                by ``operation`` (Replicate's output rides on its status).
            params: Query parameters.

        Raises:
            TarashException: The read failed after retries (see :meth:`_send`).
        """
        reply = await self._send(
            operation,
            "GET",
            self.job_url(handle, at or operation),
            request_id=handle.request_id,
            params=params,
            expect_object=True,
        )
        return reply_object(reply)

    async def download_content(
        self, url: str, *, request_id: str | None, default_type: str
    ) -> MediaContent:
        """``GET`` a finished job's media with this client's key and return its bytes, as
        published returns OpenAI's video (:class:`MediaContent`).

        Part of the attempt that reads the result: the engine's streaming download
        (:func:`~tarash.tarash_gateway.engine._http.stream`, the ``download`` retry rules
        within the attempt's budget and deadline, started again from byte 0 when it
        breaks off), cancelled with its caller. The body is gathered once, in one buffer,
        which the result then holds (no second copy).

        Args:
            url: The media's URL on this provider's origin (it receives the key).
            request_id: The job, for errors.
            default_type: The MIME type when the reply names none.

        Raises:
            TarashException: The download failed after retries (see :meth:`_send`); the
                error names no key.
        """
        await self.key_strategy().refresh(self)

        async def gather(reply: httpx.Response) -> MediaContent:
            # Fresh on each try: a retried download starts again from the beginning.
            buffer = io.BytesIO()
            async for chunk in reply.aiter_bytes():
                buffer.write(chunk)
            declared = reply.headers.get("content-type", "").split(";", 1)[0].strip()
            # getvalue() shares the buffer's bytes rather than copying them.
            return {"content": buffer.getvalue(), "content_type": declared or default_type}

        try:
            return await stream(
                self.request_context,
                "download",
                url,
                gather,
                request_id=request_id,
                headers=self.auth_headers(),
            )
        except TarashException as exc:
            self.scrub(exc)
            raise

    async def request_cancel(
        self,
        handle: JobHandle,
        method: str = "POST",
        *,
        not_cancellable: frozenset[int] = frozenset({404}),
    ) -> dict[str, Any] | None:
        """Send a job's cancel (to :meth:`job_url` ``"cancel"``) and return the reply's object.

        Args:
            handle: The job.
            method: The provider's cancel method.
            not_cancellable: Statuses by which the provider says the job cannot be
                cancelled (unknown, already finished): answered with ``None``, not raised.

        Returns:
            The reply's JSON object, or ``None`` for a ``not_cancellable`` status.

        Raises:
            TarashException: The cancel failed after retries (see :meth:`_send`).
        """
        reply = await self._send(
            "cancel",
            method,
            self.job_url(handle, "cancel"),
            request_id=handle.request_id,
            ok_statuses=not_cancellable,
            expect_object=True,
        )
        return None if reply.status_code in not_cancellable else reply_object(reply)

    def job_id_from_headers(self, response: httpx.Response) -> str | None:
        """The id of the job a submit created, read from the reply's headers.

        Used when the body names none (it could not be read). By default the ``Location``
        of the created resource (RFC 9110, 201 Created) on the API's own origin: its last
        path segment. Providers that send the id in a header of their own add it.
        """
        location = response.headers.get("location")
        if not location:
            return None
        target = urljoin(str(response.url), location)
        if not same_origin(target, self.base_url):
            return None
        segments = [part for part in urlsplit(target).path.split("/") if part]
        return segments[-1] if segments else None

    async def _send_submit(self, url: str, *, id_field: str, **kwargs: Any) -> AcceptedSubmit:
        """``POST`` a submit and learn the id of the job it created.

        Any 2xx means the provider accepted the job, which now runs and bills whatever the
        body says. Its id comes from the body's ``id_field``, else from the headers
        (:meth:`job_id_from_headers`), so that the job can be followed and cancelled.

        Raises:
            ProviderServerError: Accepted, but no id could be learnt: the job exists and
                cannot be cancelled. Flagged ``job_may_exist``; no fallback is allowed
                (it would pay for a second job) and the submit is never resent.
            TarashException: The submit was refused (see :meth:`_send`).
        """
        reply = await self._send("submit", "POST", url, **kwargs)
        parsed = response_json(reply)
        body = parsed if isinstance(parsed, dict) else None
        job_id = body.get(id_field) if body is not None else None
        if not _is_job_id(job_id):
            job_id = self.job_id_from_headers(reply)
        if isinstance(job_id, str) and _is_job_id(job_id):
            return AcceptedSubmit(job_id=job_id, body=body, status_code=reply.status_code)
        error = ProviderServerError(
            f"{self.name} accepted the submit (HTTP {reply.status_code}) but its reply names "
            "no job id (body cut short or garbled): the job may be running and cannot be "
            "cancelled by tarash",
            provider=self.name,
            model=self.model,
            status_code=reply.status_code,
            retryable=False,
            fallback_allowed=False,
        )
        self._flag_untracked_job(error)
        raise error

    def _flag_untracked_job(self, error: TarashException) -> None:
        error.job_may_exist = True
        logger.warning(
            "%s/%s: the submit failed (%s) after it may have reached the provider; a job "
            "may exist there that tarash cannot cancel",
            self.name,
            self.model,
            type(error).__name__,
        )


def _is_job_id(value: object) -> bool:
    return isinstance(value, str) and _JOB_ID.match(value) is not None
