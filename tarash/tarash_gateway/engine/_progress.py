"""Delivering progress to the user's callback: sync or async, and what it raises kept apart.

The job waiter (``routing/_jobs``) and the handler attempts (``compat/_handler``) both call
the user's ``on_progress`` through :func:`deliver_progress`, so a callback that raises is
told from a provider failure the same way on both paths.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["CallbackError", "deliver_progress"]


class CallbackError(Exception):
    """Internal: the user's progress callback raised; carries the original exception.

    It is not a provider failure, so it never triggers a fallback; the original exception
    is re-raised to the caller unchanged.
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


async def deliver_progress(callback: Callable[[Any], Any] | None, update: object) -> None:
    """Call a sync or async progress callback; wrap what it raises in :class:`CallbackError`."""
    if callback is None:
        return
    try:
        result = callback(update)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        raise CallbackError(exc) from exc
