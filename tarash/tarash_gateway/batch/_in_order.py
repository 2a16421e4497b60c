"""Batches answered as one response in input order: the published repository's
``generate_{video,image,tts,sts}_batch`` (and their ``_async`` twins).

A thin layer over :class:`~tarash.tarash_gateway.batch._batch.BatchRun` (the fan-out,
cancellation and limits are that one's): the items are grouped by the config they run
with, each group is one run, and each result lands at its item's index. Groups run one
after another, so at most ``max_concurrent`` requests are ever in flight; a batch whose
items all use the batch's config (the usual case) is a single run. Speech items run as
``generate_tts`` / ``generate_sts`` do (a handler's call each), through the same run.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

from tarash.tarash_gateway._unions import AnyConfig, AnyRequest, Config, Request
from tarash.tarash_gateway.batch._batch import BatchRun
from tarash.tarash_gateway.engine._sync import run_sync
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    BatchCompletionUpdate,
    BatchItem,
    BatchItemResult,
    BatchResponse,
    ImageBatchCompletionUpdate,
    ImageBatchItem,
    ImageBatchResponse,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageProgressCallback,
    ProgressCallback,
    STSBatchCompletionUpdate,
    STSBatchItem,
    STSBatchResponse,
    STSProgressCallback,
    STSRequest,
    TTSBatchCompletionUpdate,
    TTSBatchItem,
    TTSBatchResponse,
    TTSProgressCallback,
    TTSRequest,
    VideoBatchCompletionUpdate,
    VideoBatchItem,
    VideoBatchResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
)

__all__ = [
    "MAX_BATCH_CONCURRENCY",
    "generate_image_batch",
    "generate_image_batch_async",
    "generate_sts_batch",
    "generate_sts_batch_async",
    "generate_tts_batch",
    "generate_tts_batch_async",
    "generate_video_batch",
    "generate_video_batch_async",
]

logger = logging.getLogger("tarash.batch")

MAX_BATCH_CONCURRENCY = 50
"""The largest ``max_concurrent`` the ordered batch takes (the published bound)."""


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, fallback_allowed=False)


def _grouped(
    function: str,
    config: AnyConfig,
    items: Sequence[object],
    config_class: type[AnyConfig],
    request_class: type[AnyRequest],
) -> list[tuple[AnyConfig, list[int], list[AnyRequest]]]:
    """The items as ``(config, indices, requests)`` groups, checked before anything runs."""
    if not isinstance(config, config_class):
        raise _invalid(
            f"{function}() takes a {config_class.__name__} as config, got "
            f"{type(config).__name__}; nothing was submitted"
        )
    groups: list[tuple[AnyConfig, list[int], list[AnyRequest]]] = []
    for index, item in enumerate(items):
        if isinstance(item, request_class):
            request, own = item, None
        elif isinstance(item, BatchItem):
            request, own = item.request, item.config
        else:
            raise _invalid(
                f"{function}(): items[{index}] is a {type(item).__name__}, not a batch item "
                f"or a {request_class.__name__}; nothing was submitted"
            )
        if not isinstance(request, request_class) or not isinstance(
            own if own is not None else config, config_class
        ):
            raise _invalid(
                f"{function}(): items[{index}] holds a {type(request).__name__} with a "
                f"{type(own).__name__} config; this batch takes {request_class.__name__} and "
                f"{config_class.__name__}; nothing was submitted"
            )
        effective = own if own is not None else config
        for group_config, indices, requests in groups:
            if group_config is effective or group_config == effective:
                indices.append(index)
                requests.append(request)
                break
        else:
            groups.append((effective, [index], [request]))
    return groups


async def _tell(
    on_batch_progress: Callable[[Any], Any] | None, update: BatchCompletionUpdate[Any]
) -> None:
    if on_batch_progress is None:
        return
    try:
        returned = on_batch_progress(update)
        if inspect.isawaitable(returned):
            await returned
    except Exception:
        # As published: a failing progress display must not stop the other items (their
        # jobs are being paid for); it is logged instead.
        logger.warning(
            "on_batch_progress raised on item %d; the batch goes on", update.index, exc_info=True
        )


async def _run_in_order(
    function: str,
    config: AnyConfig,
    items: Sequence[object],
    max_concurrent: int,
    on_item_progress: Callable[[Any], Any] | None,
    on_batch_progress: Callable[[Any], Any] | None,
    *,
    config_class: type[AnyConfig],
    request_class: type[AnyRequest],
) -> BatchResponse[Any]:
    if (
        isinstance(max_concurrent, bool)
        or not isinstance(max_concurrent, int)
        or not 1 <= max_concurrent <= MAX_BATCH_CONCURRENCY
    ):
        raise _invalid(
            f"{function}(max_concurrent=...) must be an int from 1 to {MAX_BATCH_CONCURRENCY}, "
            f"got {max_concurrent!r}"
        )
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise _invalid(f"{function}() takes a list of items, got {type(items).__name__}")
    groups = _grouped(function, config, items, config_class, request_class)
    results: list[BatchItemResult[Any] | None] = [None] * len(items)
    completed = 0
    for group_config, indices, requests in groups:
        # BatchRun is typed for video and image; a speech request runs in it as
        # generate_tts does (see _Tracker.run), without the ledger's job records.
        run: BatchRun[Any] = BatchRun(
            cast("Config", group_config),
            requests,
            request_class=cast("type[Request]", request_class),
            concurrency=min(max_concurrent, len(requests)),
            ledger=None,
            on_event=None,
            on_update=on_item_progress,
        )
        async with run as finished:
            async for outcome in finished:
                index = indices[outcome.index]
                result: BatchItemResult[Any] = BatchItemResult(
                    index=index,
                    status="completed" if outcome.ok else "failed",
                    response=outcome.response,
                    error=outcome.error,
                )
                results[index] = result
                completed += 1
                await _tell(
                    on_batch_progress,
                    BatchCompletionUpdate(
                        index=index,
                        item_result=result,
                        completed_count=completed,
                        total_count=len(items),
                    ),
                )
    ordered = [result for result in results if result is not None]
    assert len(ordered) == len(items)  # every run yields one result per request
    succeeded = sum(result.status == "completed" for result in ordered)
    return BatchResponse(
        results=ordered, total=len(items), succeeded=succeeded, failed=len(items) - succeeded
    )


async def generate_video_batch_async(
    config: VideoGenerationConfig,
    items: list[VideoBatchItem],
    max_concurrent: int = 5,
    on_item_progress: ProgressCallback | None = None,
    on_batch_progress: Callable[[VideoBatchCompletionUpdate], None] | None = None,
) -> VideoBatchResponse:
    """Generate many videos at once and return every result, in input order.

    Each item runs as ``generate_video_async`` would (its config's fallbacks, the default
    router's limits, breakers and spend cap); a failure is its item's result, never
    raised. For results as they finish, a crash-safe ledger or millions of requests, use
    :func:`~tarash.tarash_gateway.generate_videos_async`, which this is built on.

    Args:
        config: The config of every item that has none of its own.
        items: :class:`~tarash.tarash_gateway.models.VideoBatchItem` (a request and an
            optional config), or plain requests.
        max_concurrent: Requests in flight at once, 1 to 50.
        on_item_progress: Called with each item's :class:`VideoGenerationUpdate`, as
            ``generate_video``'s ``on_progress``; sync or async.
        on_batch_progress: Called with a :class:`VideoBatchCompletionUpdate` as each item
            ends; what it raises is logged, and the batch goes on.

    Returns:
        A :class:`VideoBatchResponse`: ``results[i]`` is item ``i``'s, with the counts.

    Raises:
        ValidationError: ``max_concurrent`` is out of range, or an item or config is not
            of the right kind (nothing was submitted).
    """
    return await _run_in_order(
        "generate_video_batch_async",
        config,
        items,
        max_concurrent,
        on_item_progress,
        on_batch_progress,
        config_class=VideoGenerationConfig,
        request_class=VideoGenerationRequest,
    )


def generate_video_batch(
    config: VideoGenerationConfig,
    items: list[VideoBatchItem],
    max_concurrent: int = 5,
    on_item_progress: ProgressCallback | None = None,
    on_batch_progress: Callable[[VideoBatchCompletionUpdate], None] | None = None,
) -> VideoBatchResponse:
    """Sync twin of :func:`generate_video_batch_async`."""
    return run_sync(
        generate_video_batch_async,
        config,
        items,
        max_concurrent,
        on_item_progress,
        on_batch_progress,
    )


async def generate_image_batch_async(
    config: ImageGenerationConfig,
    items: list[ImageBatchItem],
    max_concurrent: int = 5,
    on_item_progress: ImageProgressCallback | None = None,
    on_batch_progress: Callable[[ImageBatchCompletionUpdate], None] | None = None,
) -> ImageBatchResponse:
    """Generate many images at once and return every result, in input order.

    As :func:`generate_video_batch_async`, for image requests
    (:class:`~tarash.tarash_gateway.models.ImageBatchItem`).

    Raises:
        ValidationError: ``max_concurrent`` is out of range, or an item or config is not
            of the right kind (nothing was submitted).
    """
    return await _run_in_order(
        "generate_image_batch_async",
        config,
        items,
        max_concurrent,
        on_item_progress,
        on_batch_progress,
        config_class=ImageGenerationConfig,
        request_class=ImageGenerationRequest,
    )


def generate_image_batch(
    config: ImageGenerationConfig,
    items: list[ImageBatchItem],
    max_concurrent: int = 5,
    on_item_progress: ImageProgressCallback | None = None,
    on_batch_progress: Callable[[ImageBatchCompletionUpdate], None] | None = None,
) -> ImageBatchResponse:
    """Sync twin of :func:`generate_image_batch_async`."""
    return run_sync(
        generate_image_batch_async,
        config,
        items,
        max_concurrent,
        on_item_progress,
        on_batch_progress,
    )


async def generate_tts_batch_async(
    config: AudioGenerationConfig,
    items: list[TTSBatchItem],
    max_concurrent: int = 5,
    on_item_progress: TTSProgressCallback | None = None,
    on_batch_progress: Callable[[TTSBatchCompletionUpdate], None] | None = None,
) -> TTSBatchResponse:
    """Speak many texts at once and return every result, in input order.

    As :func:`generate_video_batch_async`, for :class:`TTSRequest` items
    (:class:`~tarash.tarash_gateway.models.TTSBatchItem`); each runs as
    ``generate_tts_async`` would (a registered handler's call, or the mock).

    Raises:
        ValidationError: ``max_concurrent`` is out of range, or an item or config is not
            of the right kind (nothing was called).
    """
    return await _run_in_order(
        "generate_tts_batch_async",
        config,
        items,
        max_concurrent,
        on_item_progress,
        on_batch_progress,
        config_class=AudioGenerationConfig,
        request_class=TTSRequest,
    )


def generate_tts_batch(
    config: AudioGenerationConfig,
    items: list[TTSBatchItem],
    max_concurrent: int = 5,
    on_item_progress: TTSProgressCallback | None = None,
    on_batch_progress: Callable[[TTSBatchCompletionUpdate], None] | None = None,
) -> TTSBatchResponse:
    """Sync twin of :func:`generate_tts_batch_async`."""
    return run_sync(
        generate_tts_batch_async,
        config,
        items,
        max_concurrent,
        on_item_progress,
        on_batch_progress,
    )


async def generate_sts_batch_async(
    config: AudioGenerationConfig,
    items: list[STSBatchItem],
    max_concurrent: int = 5,
    on_item_progress: STSProgressCallback | None = None,
    on_batch_progress: Callable[[STSBatchCompletionUpdate], None] | None = None,
) -> STSBatchResponse:
    """Convert many recordings at once and return every result, in input order.

    As :func:`generate_tts_batch_async`, for :class:`STSRequest` items
    (:class:`~tarash.tarash_gateway.models.STSBatchItem`).

    Raises:
        ValidationError: ``max_concurrent`` is out of range, or an item or config is not
            of the right kind (nothing was called).
    """
    return await _run_in_order(
        "generate_sts_batch_async",
        config,
        items,
        max_concurrent,
        on_item_progress,
        on_batch_progress,
        config_class=AudioGenerationConfig,
        request_class=STSRequest,
    )


def generate_sts_batch(
    config: AudioGenerationConfig,
    items: list[STSBatchItem],
    max_concurrent: int = 5,
    on_item_progress: STSProgressCallback | None = None,
    on_batch_progress: Callable[[STSBatchCompletionUpdate], None] | None = None,
) -> STSBatchResponse:
    """Sync twin of :func:`generate_sts_batch_async`."""
    return run_sync(
        generate_sts_batch_async,
        config,
        items,
        max_concurrent,
        on_item_progress,
        on_batch_progress,
    )


# Their published module, where users import them from (and where a pickle finds them).
for _published in (
    generate_image_batch,
    generate_image_batch_async,
    generate_sts_batch,
    generate_sts_batch_async,
    generate_tts_batch,
    generate_tts_batch_async,
    generate_video_batch,
    generate_video_batch_async,
):
    _published.__module__ = "tarash.tarash_gateway"
del _published
