"""Fault injection: what can go wrong, on which request, how many times.

Faults are armed on the caller's thread (``emu.inject``) and consumed on the server's thread,
so the plan is guarded by a lock and every match consumes exactly one use.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, get_args

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "drop_connection",
    "drop_after_create",
    "malformed_json",
    "job_failure",
    "content_refusal",
    "stuck",
    "unauthorized",
    "forbidden",
    "not_found",
]
Operation = Literal["submit", "status", "result", "cancel"]

FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
OPERATIONS: frozenset[str] = frozenset(get_args(Operation))

#: Kinds that change how the next submitted jobs end, rather than one HTTP response.
JOB_FAULT_KINDS: frozenset[str] = frozenset({"job_failure", "content_refusal", "stuck"})

#: Request header that applies one fault kind to that request only (or, for job-level
#: kinds, to the job it submits).
FAULT_HEADER = "x-emulator-fault"


@dataclass(frozen=True)
class Fault:
    """A fault to inject.

    Kinds:
        - ``rate_limit``: 429 with ``Retry-After`` and the provider's throttling body.
        - ``server_error``: 500, or ``status_code`` (any 5xx, e.g. 503).
        - ``drop_connection``: the response starts, then the connection closes mid-body; the
          client sees a transport error (``httpx.RemoteProtocolError``). No job is created
          when it hits a submit.
        - ``drop_after_create``: submit only; the job IS created, then the connection drops
          (a client must not blindly resubmit).
        - ``malformed_json``: 200 with a truncated JSON body.
        - ``job_failure``: the next submitted job runs and fails.
        - ``content_refusal``: the next submitted job is refused by the content checker.
        - ``stuck``: the next submitted job starts and never finishes until cancelled.
        - ``unauthorized``: the provider's own 401 (the key refused), whatever key was sent.
        - ``forbidden``: the provider's own 403 (a key without the permission).
        - ``not_found``: the provider's own 404 for the request (an unknown job, say).

    Attributes:
        kind: One of the kinds above.
        provider: Only for this provider (``"fal"``, ``"replicate"``); None means any.
        operation: Only for ``"submit"``, ``"status"``, ``"result"`` or ``"cancel"``
            requests; None means any. Job-level kinds always act at submit.
        times: How many requests (or jobs) it hits; None means forever.
        status_code: HTTP status for ``server_error`` (default 500) and ``job_failure``
            (fal result status, default 500).
        retry_after: ``Retry-After`` seconds for ``rate_limit`` (default 1).
        model: Only for this model id (as submitted); None means any.
    """

    kind: FaultKind
    provider: str | None = None
    operation: Operation | None = None
    times: int | None = 1
    status_code: int | None = None
    retry_after: float | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {sorted(FAULT_KINDS)}")
        if self.operation is not None and self.operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {self.operation!r}; use one of {sorted(OPERATIONS)}"
            )
        if self.kind == "drop_after_create" and self.operation not in (None, "submit"):
            raise ValueError("drop_after_create only applies to operation='submit'")
        if self.kind in JOB_FAULT_KINDS and self.operation not in (None, "submit"):
            raise ValueError(f"{self.kind} is a job-level fault: it acts at submit")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1, or None for forever")
        if self.status_code is not None and not 400 <= self.status_code <= 599:
            raise ValueError("status_code must be an HTTP error status (4xx/5xx)")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")

    @property
    def is_job_level(self) -> bool:
        """Whether it changes a job's outcome instead of one response."""
        return self.kind in JOB_FAULT_KINDS

    def matches(self, provider: str, operation: Operation, model: str | None) -> bool:
        """Whether it applies to this request."""
        if self.provider is not None and self.provider != provider:
            return False
        if self.model is not None and self.model != model:
            return False
        if self.is_job_level or self.kind == "drop_after_create":
            return operation == "submit"
        return self.operation is None or self.operation == operation


@dataclass
class _Armed:
    fault: Fault
    remaining: int | None


class FaultPlan:
    """The armed faults of one emulator, in injection order."""

    def __init__(self, faults: tuple[Fault, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = [_Armed(fault, fault.times) for fault in faults]

    def inject(self, fault: Fault) -> None:
        """Arm a fault."""
        with self._lock:
            self._armed.append(_Armed(fault, fault.times))

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def pending(self) -> list[Fault]:
        """The faults still armed."""
        with self._lock:
            return [armed.fault for armed in self._armed]

    def take(
        self,
        provider: str,
        operation: Operation,
        model: str | None,
        *,
        job_level: bool,
    ) -> Fault | None:
        """Consume one use of the first matching fault.

        Args:
            provider: Provider of the request.
            operation: What the request does.
            model: The job's model id, if known.
            job_level: Look for job-level kinds (True) or response-level kinds (False).

        Returns:
            The fault to apply, or None.
        """
        with self._lock:
            for index, armed in enumerate(self._armed):
                fault = armed.fault
                if fault.is_job_level != job_level or not fault.matches(provider, operation, model):
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        del self._armed[index]
                return fault
        return None


def fault_from_header(value: str | None, operation: Operation, *, job_level: bool) -> Fault | None:
    """Read the ``X-Emulator-Fault`` header.

    The value is a fault kind, optionally with a status code: ``server_error`` or
    ``server_error=503``. Unknown kinds are ignored (the request proceeds normally).

    Args:
        value: The header value, if present.
        operation: What the request does.
        job_level: Whether the caller wants a job-level kind.

    Returns:
        A one-shot fault, or None when the header does not apply.
    """
    if not value:
        return None
    kind, _, code = value.strip().partition("=")
    kind = kind.strip().lower()
    if kind not in FAULT_KINDS:
        return None
    status_code = int(code) if code.strip().isdigit() else None
    try:
        fault = Fault(kind, status_code=status_code)  # type: ignore[arg-type]  # checked above
    except ValueError:
        return None
    if fault.is_job_level != job_level:
        return None
    if fault.kind == "drop_after_create" and operation != "submit":
        return None
    if fault.is_job_level and operation != "submit":
        return None
    return fault
