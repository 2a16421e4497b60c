"""Errors out of anyio task groups, as the caller would have met them without one.

A task group wraps whatever ends it in a ``BaseExceptionGroup``. tarash's public functions
promise that a progress callback's exception (a ``KeyboardInterrupt`` from a notebook's
stop button included) reaches the caller unchanged and that only tarash's own errors
escape otherwise, so code that races or fans out inside a task group re-raises the one
error that stopped it, never the group.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import anyio

__all__ = ["first_error", "raising_the_first_error"]


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error in ``group`` (nested groups searched) that is not a cancellation.

    A cancellation is the echo of the error that made the group cancel its other tasks,
    so it is returned only when the group holds nothing else.
    """
    cancelled = anyio.get_cancelled_exc_class()
    for error in group.exceptions:
        found = first_error(error) if isinstance(error, BaseExceptionGroup) else error
        if not isinstance(found, cancelled):
            return found
    return group.exceptions[0]


@contextlib.contextmanager
def raising_the_first_error() -> Iterator[None]:
    """Around a task group: re-raise :func:`first_error` of the group it raised."""
    try:
        yield
    except BaseExceptionGroup as group:
        raise first_error(group) from None
