"""The tarash error hierarchy.

Every failure tarash raises is a :class:`TarashException`. The names of the published
tarash-gateway package are kept so existing ``except`` clauses keep working; finer classes
are added below them::

    TarashException
    ├── ValidationError                 bad input, raised before anything is submitted
    ├── ContentModerationError          the provider refused the prompt or the output
    ├── GenerationFailedError           the job ran and failed (or finished with no output)
    │   └── JobCancelledError           the provider reports the job cancelled or aborted
    ├── TimeoutError (+ builtins.TimeoutError)
    │                                   the job's wall-clock deadline passed
    ├── SpendCapExceededError           the next attempt could push spend over the cap
    ├── HTTPConnectionError             no usable HTTP reply (refused, reset, read timeout)
    ├── CircuitOpenError                a config skipped by its open circuit breaker
    └── HTTPError                       the provider answered with a non-success status
        ├── AuthenticationError         401 / 403
        ├── InsufficientCreditError     402
        ├── NotFoundError               404 (unknown model or job)
        ├── RateLimitError              429, with ``retry_after``
        └── ProviderServerError         5xx

Each class says, through two class-level defaults that instances may override, whether the
same call may be retried on the same provider (``retryable``) and whether a fallback may
follow at all (``fallback_allowed``). Whether a chain does move on is decided in one place,
:func:`falls_back`, by the error's kind and the config's ``fallback_on`` policy; the
published :func:`is_retryable_error` is that decision under the default policy.

``tarash.tarash_gateway.exceptions`` (the published module) re-exports these same classes.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from tarash.tarash_gateway._retry_after import parse_retry_after

if TYPE_CHECKING:
    from tarash.tarash_gateway.models import ExecutionMetadata, JobHandle

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "ContentModerationError",
    "FallbackPolicy",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "InsufficientCreditError",
    "JobCancelledError",
    "NotFoundError",
    "ProviderServerError",
    "RateLimitError",
    "SpendCapExceededError",
    "TarashException",
    "TimeoutError",
    "ValidationError",
    "error_for_status",
    "falls_back",
    "is_retryable_error",
]


class TarashException(Exception):
    """Root of every error tarash raises.

    The first five parameters are the published package's, in its order; tarash's own
    follow them, by keyword only. ``str(error)`` is the message alone, as published; the
    provider, model, status and request id are attributes (and shown by ``repr``).

    Args:
        message: What went wrong, in words; never contains a secret.
        provider: The provider the failure came from, when known.
        model: The model the failure came from, when known.
        request_id: The provider's job or request id, when one was issued.
        raw_response: The provider's reply body (parsed JSON, or text), when there was one.
        status_code: The provider's HTTP status, when there was one.
        retryable: Overrides the class's ``retryable`` for this error.
        fallback_allowed: Overrides the class's ``fallback_allowed`` for this error.
        job_may_exist: See the attribute.

    Attributes:
        message: What went wrong, in words; never contains a secret.
        provider: The provider the failure came from, when known.
        model: The model the failure came from, when known.
        status_code: The provider's HTTP status, when there was one.
        request_id: The provider's job or request id, when one was issued.
        raw_response: The provider's reply body (parsed JSON, or text), when there was one.
        retryable: Whether the same call may be retried on the same provider.
        fallback_allowed: False when no fallback may follow this error under any policy:
            the request itself is at fault (every provider would refuse it), or a job was
            accepted or finished and another provider would be paid again. When True,
            :func:`falls_back` decides by the error's kind and the chain's policy.
        execution_metadata: Every attempt made before the error was raised; set on the error
            that ``generate_*`` raises when all attempts failed.
        job_handle: The provider job the error concerns, once one was submitted: pass it
            to ``wait``/``status``/``cancel`` (a result that could not be read can be
            fetched again this way).
        job_may_exist: A submit failed in a way that may still have created a (paid) job
            whose id tarash never learnt, so it can neither follow nor cancel it: check
            the provider's dashboard.
    """

    retryable: ClassVar[bool] = False
    # An error tarash cannot classify never buys a fallback: it may have come after a
    # job was accepted (a custom handler's bug, say), and the next provider would be paid
    # again. Every named subclass allows one, subject to the policy.
    fallback_allowed: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        *,
        status_code: int | None = None,
        retryable: bool | None = None,
        fallback_allowed: bool | None = None,
        job_may_exist: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.request_id = request_id
        self.raw_response = raw_response
        # Instance overrides shadow the class defaults only when given.
        if retryable is not None:
            self.retryable = retryable  # type: ignore[misc]
        if fallback_allowed is not None:
            self.fallback_allowed = fallback_allowed  # type: ignore[misc]
        self.execution_metadata: ExecutionMetadata | None = None
        self.job_handle: JobHandle | None = None
        self.job_may_exist = job_may_exist

    def __str__(self) -> str:
        # The message alone, as the published package prints it: code that shows or
        # compares str(error) keeps working. The context is in the attributes and repr.
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"model={self.model!r}, status_code={self.status_code!r}, "
            f"request_id={self.request_id!r}, retryable={self.retryable}, "
            f"fallback_allowed={self.fallback_allowed})"
        )


class ValidationError(TarashException):
    """Raised when a request or config cannot be sent as asked, or the provider rejects it.

    Raised before submission for bad input (the error names the field; no fallback, since
    every provider would refuse it too) and when the model cannot serve the request as
    asked (no image input, say). Also raised when the provider rejects the input (HTTP
    400/422). The last two fall back only under ``fallback_on="provider_specific"``.
    """

    fallback_allowed = True


class ContentModerationError(TarashException):
    """Raised when the provider's safety system refuses the prompt, input or output.

    Not retried on the same provider (the answer would be the same). Policies differ
    between providers, so it falls back under ``fallback_on="provider_specific"``.
    """

    fallback_allowed = True


class GenerationFailedError(TarashException):
    """Raised when a job ran and failed, or ended 'successfully' with no media."""

    fallback_allowed = True


class JobCancelledError(GenerationFailedError):
    """Raised when the provider reports the job cancelled, aborted or expired."""


class TimeoutError(TarashException, builtins.TimeoutError):
    """Raised when a job's wall-clock deadline (``config.timeout``) passes, or its
    ``max_poll_attempts`` are used up.

    The remote job is cancelled before this is raised, where the provider allows it.

    Args:
        timeout_seconds: The published sixth parameter; see the attribute. The others
            are :class:`TarashException`'s.

    Attributes:
        timeout_seconds: The limit that was reached, in seconds: the deadline's timeout,
            or the time spent polling when ``max_poll_attempts`` ran out.
    """

    fallback_allowed = True

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        timeout_seconds: float | None = None,
        *,
        status_code: int | None = None,
        retryable: bool | None = None,
        fallback_allowed: bool | None = None,
        job_may_exist: bool = False,
    ) -> None:
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            status_code=status_code,
            retryable=retryable,
            fallback_allowed=fallback_allowed,
            job_may_exist=job_may_exist,
        )
        self.timeout_seconds = timeout_seconds


class SpendCapExceededError(TarashException):
    """Raised before an attempt starts when its estimated cost, added to what was spent
    and what running attempts hold, would pass the spend cap. Nothing is submitted.

    Not retryable and never a reason to fall back: every other config would spend too.

    Args:
        cap: See the attributes. The others are :class:`TarashException`'s.
        spent: See the attributes.
        estimate: See the attributes.

        status_code: As for :class:`TarashException` (never set by tarash itself).

    Attributes:
        cap: The spend cap, in dollars.
        spent: Dollars already spent under the cap.
        estimate: The refused attempt's estimated cost, in dollars.
    """

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        *,
        cap: float | None = None,
        spent: float | None = None,
        estimate: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(
            message, provider, model, request_id, raw_response, status_code=status_code
        )
        self.cap = cap
        self.spent = spent
        self.estimate = estimate


class HTTPConnectionError(TarashException):
    """Raised when no usable HTTP reply arrived: refused, reset, dropped or timed out.

    ``reached_server`` says whether the request may have reached the provider (False only
    when the connection was never made): a submit that may have reached it may have
    created a job.
    """

    retryable = True
    fallback_allowed = True

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        *,
        reached_server: bool = True,
        status_code: int | None = None,
        retryable: bool | None = None,
        fallback_allowed: bool | None = None,
        job_may_exist: bool = False,
    ) -> None:
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            status_code=status_code,
            retryable=retryable,
            fallback_allowed=fallback_allowed,
            job_may_exist=job_may_exist,
        )
        self.reached_server = reached_server


class CircuitOpenError(TarashException):
    """Raised when the last config a chain could try was skipped because its circuit
    breaker is open (recent transient failures); nothing was submitted to it."""

    retryable = True


class HTTPError(TarashException):
    """Raised when the provider replies with a non-success HTTP status.

    Args:
        status_code: The published sixth parameter: the reply's HTTP status.
        retry_after: See the attribute. The others are :class:`TarashException`'s.

    Attributes:
        retry_after: The provider's Retry-After hint in seconds, when it gave one.
    """

    fallback_allowed = True

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
        status_code: int | None = None,
        *,
        retry_after: float | None = None,
        retryable: bool | None = None,
        fallback_allowed: bool | None = None,
        job_may_exist: bool = False,
    ) -> None:
        super().__init__(
            message,
            provider,
            model,
            request_id,
            raw_response,
            status_code=status_code,
            retryable=retryable,
            fallback_allowed=fallback_allowed,
            job_may_exist=job_may_exist,
        )
        self.retry_after = retry_after


class AuthenticationError(HTTPError):
    """Raised on 401/403: the key is missing, wrong or lacks permission."""


class InsufficientCreditError(HTTPError):
    """Raised on 402: the account has no credit left."""


class NotFoundError(HTTPError):
    """Raised on 404: the model, version or job does not exist."""


class RateLimitError(HTTPError):
    """Raised on 429. ``retry_after`` holds the provider's hint in seconds, when given.

    Attributes:
        over_concurrency: The provider refused because the account runs as many jobs as
            it may, not because of requests per minute (fal, whose only account limit is
            concurrency): a router lowers its concurrency cap on the provider rather than
            its create rate.
    """

    retryable = True
    over_concurrency: bool = False


class ProviderServerError(HTTPError):
    """Raised on a 5xx reply, or a reply that could not be read: the provider's own fault."""

    retryable = True


FallbackPolicy = Literal["transient", "provider_specific"]
"""When a fallback chain moves on from a failed config (``config.fallback_on``).

``"transient"`` (the default, the published package's table): on a failure that may well
not happen elsewhere or later: :class:`GenerationFailedError`, :class:`TimeoutError`,
:class:`HTTPConnectionError`, HTTP 429 and 5xx. ``"provider_specific"``: on those, and on
errors specific to one provider's account, schema or policy: a missing or refused key
(401/403), no credit (402), its moderation, an unknown model (404), a model that cannot
serve the request, the provider's rejection of an input (400/422) or any other HTTP status.
Under either policy an error whose ``fallback_allowed`` is False raises at once.
"""


def _is_transient(error: TarashException) -> bool:
    if isinstance(error, GenerationFailedError | TimeoutError | HTTPConnectionError):
        return True
    if isinstance(error, RateLimitError | ProviderServerError):
        # Whatever status they carry (none, or the 200 of a garbled body): the class says
        # the provider was busy or at fault.
        return True
    if isinstance(error, HTTPError):
        # The published table names 429 and 500-504; the other 5xx (a CDN's 520-524, an
        # overloaded 529) are the provider's outage just the same.
        status = error.status_code
        return status is not None and (status == 429 or 500 <= status <= 599)
    return False


def falls_back(error: BaseException, policy: FallbackPolicy = "transient") -> bool:
    """Whether a fallback chain moves on to its next config after ``error``.

    Args:
        error: What the failed attempt raised.
        policy: The failed config's ``fallback_on``.

    Returns:
        False for anything not a tarash error and for an error whose ``fallback_allowed``
        is False (under every policy); else True for a transient failure, and for any other
        named tarash error under ``"provider_specific"``.
    """
    if not isinstance(error, TarashException) or not error.fallback_allowed:
        return False
    return _is_transient(error) or policy == "provider_specific"


def is_retryable_error(error: BaseException) -> bool:
    """Whether ``error`` triggers a fallback under the default policy (the published table).

    True for :class:`GenerationFailedError`, :class:`TimeoutError`,
    :class:`HTTPConnectionError` and :class:`HTTPError` with status 429 or 5xx; False for
    :class:`ValidationError`, :class:`ContentModerationError`, any other HTTP status, an
    error that forbids a fallback (``fallback_allowed=False``: a job already paid for) and
    anything that is not a tarash error. Not to be confused with ``error.retryable`` (may
    the same HTTP call be repeated on the same provider).

    Args:
        error: The exception to classify.

    Returns:
        Whether the next config of a chain would be tried.
    """
    return falls_back(error, "transient")


def error_for_status(
    status_code: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> TarashException:
    """Map an HTTP status to exactly one error class.

    Providers refine the result with what their body says (a moderation refusal inside a
    422, say) before raising it.

    Args:
        status_code: The HTTP status of the reply.
        message: The provider's message, already stripped of secrets.
        headers: The reply headers, read for ``Retry-After``.
        **kwargs: Passed on to the error (provider, model, request_id, raw_response).

    Returns:
        The error to raise.
    """
    error = _error_for_status(status_code, message, headers=headers, **kwargs)
    should_retry = _should_retry(headers or {})
    if should_retry is not None:
        # The provider's own verdict (OpenAI's and the Stainless SDKs' ``x-should-retry``)
        # overrides the status's default: "false" on a 429 means the limit will not lift.
        error.retryable = should_retry  # type: ignore[misc]
    return error


def _should_retry(headers: Mapping[str, str]) -> bool | None:
    """The reply's ``x-should-retry`` as a bool, or ``None`` when absent or unreadable."""
    for name, value in headers.items():
        if name.lower() == "x-should-retry":
            text = value.strip().lower()
            return True if text == "true" else False if text == "false" else None
    return None


def _error_for_status(
    status_code: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> TarashException:
    retry_after = parse_retry_after(headers or {})
    if status_code in (401, 403):
        return AuthenticationError(message, status_code=status_code, **kwargs)
    if status_code == 402:
        return InsufficientCreditError(message, status_code=status_code, **kwargs)
    if status_code == 404:
        return NotFoundError(message, status_code=status_code, **kwargs)
    if status_code == 429:
        retry_after = parse_retry_after(headers or {})
        return RateLimitError(message, status_code=status_code, retry_after=retry_after, **kwargs)
    if status_code in (400, 413, 415, 422):
        return ValidationError(message, status_code=status_code, **kwargs)
    if status_code in (408, 409, 425):
        return HTTPError(
            message, status_code=status_code, retryable=True, retry_after=retry_after, **kwargs
        )
    if status_code >= 500:
        return ProviderServerError(
            message, status_code=status_code, retry_after=retry_after, **kwargs
        )
    return HTTPError(message, status_code=status_code, **kwargs)
