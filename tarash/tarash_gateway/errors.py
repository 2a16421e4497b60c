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
    ├── HTTPConnectionError             no usable HTTP reply (refused, reset, read timeout)
    └── HTTPError                       the provider answered with a non-success status
        ├── AuthenticationError         401 / 403
        ├── InsufficientCreditError     402
        ├── NotFoundError               404 (unknown model or job)
        ├── RateLimitError              429, with ``retry_after``
        └── ProviderServerError         5xx

Each class says, through two class-level defaults that instances may override, whether the
same call may be retried on the same provider (``retryable``) and whether a fallback
provider should be tried (``fallback_allowed``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from tarash.tarash_gateway._retry_after import parse_retry_after

if TYPE_CHECKING:
    from tarash.tarash_gateway.models import ExecutionMetadata, JobHandle

__all__ = [
    "AuthenticationError",
    "ContentModerationError",
    "GenerationFailedError",
    "HTTPConnectionError",
    "HTTPError",
    "InsufficientCreditError",
    "JobCancelledError",
    "NotFoundError",
    "ProviderServerError",
    "RateLimitError",
    "TarashException",
    "TimeoutError",
    "ValidationError",
    "error_for_status",
]


class TarashException(Exception):
    """Root of every error tarash raises.

    Attributes:
        message: What went wrong, in words; never contains a secret.
        provider: The provider the failure came from, when known.
        model: The model the failure came from, when known.
        status_code: The provider's HTTP status, when there was one.
        request_id: The provider's job or request id, when one was issued.
        raw_response: The provider's reply body (parsed JSON, or text), when there was one.
        retryable: Whether the same call may be retried on the same provider.
        fallback_allowed: Whether the next provider in a fallback chain should be tried.
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
    fallback_allowed: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        raw_response: Any = None,
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
        where = "/".join(part for part in (self.provider, self.model) if part)
        details = [
            f"{name}={value}"
            for name, value in (
                ("status", self.status_code),
                ("request_id", self.request_id),
            )
            if value is not None
        ]
        prefix = f"[{where}] " if where else ""
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{prefix}{self.message}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"model={self.model!r}, status_code={self.status_code!r}, "
            f"request_id={self.request_id!r}, retryable={self.retryable}, "
            f"fallback_allowed={self.fallback_allowed})"
        )


class ValidationError(TarashException):
    """Raised before submission when a request or config cannot be sent as asked.

    Also raised when the provider rejects the input (HTTP 400/422). Another provider may
    accept the same request, so a fallback is still tried.
    """


class ContentModerationError(TarashException):
    """Raised when the provider's safety system refuses the prompt, input or output.

    Not retried on the same provider (the answer would be the same); a fallback is allowed
    because providers' policies differ.
    """


class GenerationFailedError(TarashException):
    """Raised when a job ran and failed, or ended 'successfully' with no media."""


class JobCancelledError(GenerationFailedError):
    """Raised when the provider reports the job cancelled, aborted or expired."""


class TimeoutError(TarashException, builtins.TimeoutError):
    """Raised when a job's wall-clock deadline (``config.timeout``) passes.

    The remote job is cancelled before this is raised, where the provider allows it.
    """


class HTTPConnectionError(TarashException):
    """Raised when no usable HTTP reply arrived: refused, reset, dropped or timed out.

    ``reached_server`` says whether the request may have reached the provider (False only
    when the connection was never made): a submit that may have reached it may have
    created a job.
    """

    retryable = True

    def __init__(self, message: str, *, reached_server: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reached_server = reached_server


class HTTPError(TarashException):
    """Raised when the provider replies with a non-success HTTP status.

    ``retry_after`` holds the provider's Retry-After hint in seconds, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AuthenticationError(HTTPError):
    """Raised on 401/403: the key is missing, wrong or lacks permission."""


class InsufficientCreditError(HTTPError):
    """Raised on 402: the account has no credit left."""


class NotFoundError(HTTPError):
    """Raised on 404: the model, version or job does not exist."""


class RateLimitError(HTTPError):
    """Raised on 429. ``retry_after`` holds the provider's hint in seconds, when given."""

    retryable = True


class ProviderServerError(HTTPError):
    """Raised on a 5xx reply: the provider had a fault of its own."""

    retryable = True


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
