"""Running a published-style provider *handler* as one attempt of a fallback chain.

A handler (the published tarash-gateway package's ``ProviderHandler`` protocol) is an
object with ``generate_video``, ``generate_video_async``, ``generate_image`` and
``generate_image_async`` (and, for audio, ``generate_tts[_async]`` and
``generate_sts[_async]``): each takes ``(config, request, on_progress=None)``, does the whole
job (submit, its own polling) and returns the finished response, calling ``on_progress``
itself with updates it builds. tarash has no job to follow, so a handler attempt is one
call, around which this module puts what a built-in attempt gets from the chain:

- the deadline (``config.timeout``): an async handler is cancelled there; a sync one,
  which runs in a worker thread, is abandoned (a thread cannot be cancelled: it runs on,
  and nothing it returns later is used); neither can be cancelled remotely;
- progress: the handler's updates reach the user's callback in order, on the event loop,
  whether the handler calls ``on_progress`` from a thread, from the loop without awaiting
  it, or awaits it; provider, model and attempt number are filled in when missing;
- errors: a tarash error drives fallback like a built-in's; ``NotImplementedError`` is a
  :class:`ValidationError` saying the provider does not do that kind of job; any other
  exception is a :class:`TarashException` chained to it; the config's key is scrubbed
  from all of them;
- metadata: the attempt's status, times and request id; ``execution_metadata`` is set on
  the returned response by the chain.

A handler that implements only the sync method is called in a worker thread; one that
implements only the async one is awaited. When both exist the async one runs (the sync
public functions reach it through tarash's private loop), the sync one being tried only
when the async one raises ``NotImplementedError``.

Audio (text-to-speech, speech-to-speech) runs only here: tarash has no built-in audio
provider, so every audio config is served by a handler (:func:`handler_for`), a built-in's
being a :class:`~tarash.tarash_gateway.providers._handlers.BuiltInHandler` that has
none. With the config's mock enabled, the mock answers in place of a registered handler
that implements the method (as the real run could; one that cannot is refused as the
real run would be).
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
from collections.abc import Generator
from typing import Any, Literal, Protocol

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import SecretStr

from tarash.tarash_gateway._unions import AnyConfig, AnyRequest, AnyResponse, ProgressCallback
from tarash.tarash_gateway.engine._progress import CallbackError, deliver_progress
from tarash.tarash_gateway.engine._redact import scrub_exception
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.errors import TimeoutError as TarashTimeoutError
from tarash.tarash_gateway.models import (
    AttemptMetadata,
    AttemptStatus,
    AudioGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageGenerationUpdate,
    MockConfig,
    STSRequest,
    STSResponse,
    STSUpdate,
    TTSRequest,
    TTSResponse,
    TTSUpdate,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers import get_provider_entry, get_provider_handler
from tarash.tarash_gateway.providers._handlers import (
    BuiltInHandler,
    NoBuiltInAudio,
    implemented,
)
from tarash.tarash_gateway.providers.mock import run_mock_audio

__all__ = ["AttemptRecord", "handler_for", "run_handler_attempt"]

Kind = Literal["video", "image", "tts", "sts"]


class AttemptRecord(Protocol):
    """What a handler attempt records into: the chain's ``routing._metadata.AttemptRecorder``
    (passed down by the chain, which sits above this room)."""

    metadata: AttemptMetadata

    def finish(
        self, status: AttemptStatus, client: None, error: BaseException | None = None
    ) -> AttemptMetadata:
        """Close the attempt with ``status`` (and the error it ended in)."""
        ...


_RESPONSE_CLASS: dict[Kind, type[AnyResponse]] = {
    "video": VideoGenerationResponse,
    "image": ImageGenerationResponse,
    "tts": TTSResponse,
    "sts": STSResponse,
}
_KIND_OF_REQUEST: tuple[tuple[type[AnyRequest], Kind], ...] = (
    (VideoGenerationRequest, "video"),
    (ImageGenerationRequest, "image"),
    (TTSRequest, "tts"),
    (STSRequest, "sts"),
)
_WHAT: dict[Kind, str] = {
    "video": "video generation",
    "image": "image generation",
    "tts": "text-to-speech",
    "sts": "speech-to-speech",
}
_UPDATE_CLASSES = (VideoGenerationUpdate, ImageGenerationUpdate, TTSUpdate, STSUpdate)


def handler_for(config: AnyConfig) -> object | None:
    """The handler instance serving ``config``, or ``None`` when a client class serves it.

    A video or image config with the mock enabled is never a handler's: the mock takes
    precedence over any registration, as in the published package. An audio config is
    always a handler's (a built-in's is a :class:`BuiltInHandler`, which has no audio);
    :func:`run_handler_attempt` puts the mock in its place when the mock is enabled.

    Raises:
        ValidationError: An audio config names no provider (before anything is sent).
    """
    if isinstance(config, AudioGenerationConfig):
        entry = get_provider_entry(config.provider)
        return BuiltInHandler(entry) if isinstance(entry, type) else entry
    # getattr: the mock field belongs to the mock's own module and change.
    mock = getattr(config, "mock", None)
    if mock is not None and getattr(mock, "enabled", False):
        return None
    return get_provider_handler(config.provider)


def _secret_of(config: AnyConfig) -> str | None:
    key: object = config.api_key
    if isinstance(key, SecretStr):
        return key.get_secret_value()
    return key if isinstance(key, str) else None


class _Delivery:
    """What the relay returns to a handler: awaiting it waits until the update was
    delivered; not awaiting it loses nothing (unlike a bare coroutine)."""

    __slots__ = ("_event",)

    def __init__(self, event: anyio.Event) -> None:
        self._event = event

    def __await__(self) -> Generator[Any, None, None]:
        return self._event.wait().__await__()


class _ProgressRelay:
    """The ``on_progress`` a handler gets: queues each update for one delivering task."""

    def __init__(self, callback: ProgressCallback, config: AnyConfig, attempt_number: int) -> None:
        self._callback = callback
        self._provider = config.provider
        self._model = config.model
        self._attempt_number = attempt_number
        send, receive = anyio.create_memory_object_stream[tuple[object, anyio.Event]](math.inf)
        self._send: MemoryObjectSendStream[tuple[object, anyio.Event]] = send
        self._receive: MemoryObjectReceiveStream[tuple[object, anyio.Event]] = receive
        self._loop_thread = threading.get_ident()
        self._token = anyio.lowlevel.current_token()
        self.error: CallbackError | None = None

    def _filled(self, update: object) -> object:
        if not isinstance(update, _UPDATE_CLASSES):
            return update  # not ours to edit: passed on as the handler made it
        missing: dict[str, object] = {}
        if getattr(update, "provider", None) is None:
            missing["provider"] = self._provider
        if getattr(update, "model", None) is None:
            missing["model"] = self._model
        if "attempt_number" not in update.model_fields_set:
            missing["attempt_number"] = self._attempt_number
        return update.model_copy(update=missing) if missing else update

    def _enqueue(self, update: object) -> anyio.Event:
        delivered = anyio.Event()
        self._send.send_nowait((self._filled(update), delivered))
        return delivered

    def __call__(self, update: object) -> _Delivery | None:
        if threading.get_ident() == self._loop_thread:
            try:
                return _Delivery(self._enqueue(update))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                return None  # the attempt is over: nobody is listening any more
        # A sync handler in its worker thread: like the published package, the call
        # returns once the user's callback has run (on the loop, where callbacks run).
        try:
            delivered = anyio.from_thread.run_sync(self._enqueue, update, token=self._token)
            anyio.from_thread.run(delivered.wait, token=self._token)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, RuntimeError):
            pass  # the attempt is over (deadline, loop closed): the update is dropped
        return None

    def close(self) -> None:
        self._send.close()

    async def deliver_all(self, scope: anyio.CancelScope) -> None:
        """Deliver updates in order until the handler is done; a callback that raises
        stops the handler."""
        try:
            async for update, delivered in self._receive:
                try:
                    if self.error is None:
                        await deliver_progress(self._callback, update)
                except CallbackError as exc:
                    self.error = exc
                    scope.cancel()
                finally:
                    delivered.set()
        finally:
            # Stopped early (deadline, cancelled): release any thread still waiting for
            # an update that will not be delivered now; later ones are dropped.
            while True:
                try:
                    _, delivered = self._receive.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    break
                delivered.set()
            self._receive.close()


class _Unsupported(Exception):
    """Internal: the handler does not do this kind of job (no method, or
    ``NotImplementedError``); becomes a :class:`ValidationError` in the attempt."""

    def __init__(self, cause: NotImplementedError | None) -> None:
        super().__init__(str(cause or ""))
        self.cause = cause


async def _call_once(
    handler: object,
    kind: Kind,
    config: AnyConfig,
    request: AnyRequest,
    on_progress: _ProgressRelay | None,
) -> object:
    """Call the handler's async method for ``kind``, else its sync one in a thread."""
    async_method = implemented(handler, f"generate_{kind}_async")
    sync_method = implemented(handler, f"generate_{kind}")
    if async_method is None and sync_method is None:
        raise _Unsupported(None)
    if async_method is not None:
        try:
            result = async_method(config, request, on_progress=on_progress)
            return await result if inspect.isawaitable(result) else result
        except NotImplementedError as exc:
            if sync_method is None:
                raise _Unsupported(exc) from exc
    assert sync_method is not None
    try:
        # Abandoned at the deadline: a thread cannot be interrupted.
        return await anyio.to_thread.run_sync(
            functools.partial(sync_method, config, request, on_progress=on_progress),
            abandon_on_cancel=True,
        )
    except NotImplementedError as exc:
        raise _Unsupported(exc) from exc


async def _call_handler(
    handler: object,
    kind: Kind,
    config: AnyConfig,
    request: AnyRequest,
    on_progress: ProgressCallback | None,
    attempt_number: int,
) -> object:
    if on_progress is None:
        return await _call_once(handler, kind, config, request, None)
    relay = _ProgressRelay(on_progress, config, attempt_number)
    outcome: object = None
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(relay.deliver_all, group.cancel_scope)
        try:
            outcome = await _call_once(handler, kind, config, request, relay)
        except Exception as exc:
            # Kept, not raised, so that it leaves the task group as itself.
            failure = exc
        finally:
            relay.close()  # the delivering task sends what is queued, then ends
    if relay.error is not None:
        raise relay.error
    if failure is not None:
        raise failure
    return outcome


def _not_supported(
    config: AnyConfig, kind: Kind, cause: NotImplementedError | None
) -> ValidationError:
    if isinstance(cause, NoBuiltInAudio):
        detail = (
            ": tarash's built-in providers make video and images; register a handler "
            f"that implements generate_{kind}_async or generate_{kind} for audio"
        )
    elif cause and str(cause):
        detail = f" (its handler raised NotImplementedError: {cause})"
    else:
        detail = ""
    return ValidationError(
        f"{config.provider} does not support {_WHAT[kind]}{detail}",
        provider=config.provider,
        model=config.model,
    )


class _MockAudio:
    """The mock as the handler of a mocked audio config: a WAV tone (or raw PCM) after the
    mock's steps, as ``mock.MockProviderHandler`` answers audio."""

    def __init__(self, mock: MockConfig) -> None:
        self._mock = mock

    async def generate_tts_async(
        self, config: AudioGenerationConfig, request: TTSRequest, on_progress: Any = None
    ) -> TTSResponse | STSResponse:
        return await run_mock_audio(
            self._mock, request, on_progress, provider=config.provider, model=config.model
        )

    async def generate_sts_async(
        self, config: AudioGenerationConfig, request: STSRequest, on_progress: Any = None
    ) -> TTSResponse | STSResponse:
        return await run_mock_audio(
            self._mock, request, on_progress, provider=config.provider, model=config.model
        )


def _mock_stands_in(handler: object, kind: Kind, mock: MockConfig) -> object:
    """The mock's handler, for a mocked audio config whose real handler could do ``kind``.

    Raises:
        _Unsupported: The real handler could not (a built-in, or no such method): the
            mock refuses what the real run would.
    """
    if isinstance(handler, BuiltInHandler):
        raise _Unsupported(NoBuiltInAudio())
    if implemented(handler, f"generate_{kind}_async") is None and (
        implemented(handler, f"generate_{kind}") is None
    ):
        raise _Unsupported(None)
    return _MockAudio(mock)


def _foreign_error(config: AnyConfig, exc: Exception) -> TarashException:
    detail = f": {exc}" if str(exc) else ""
    return TarashException(
        f"{config.provider} handler raised {type(exc).__name__}{detail}",
        provider=config.provider,
        model=config.model,
        # Nothing says whether the handler paid for a job before it failed.
        fallback_allowed=False,
    )


def _checked_response(config: AnyConfig, kind: Kind, result: object) -> AnyResponse:
    expected = _RESPONSE_CLASS[kind]
    if not isinstance(result, expected):
        raise TarashException(
            f"{config.provider} handler returned {type(result).__name__}, not a "
            f"{expected.__name__}",
            provider=config.provider,
            model=config.model,
            # It ran, and may have paid for a job: another provider is not tried.
            fallback_allowed=False,
        )
    missing = {
        name: value
        for name, value in (("provider", config.provider), ("model", config.model))
        if getattr(result, name) is None
    }
    return result.model_copy(update=missing) if missing else result


async def _run_handler(
    handler: object,
    kind: Kind,
    config: AnyConfig,
    request: AnyRequest,
    on_progress: ProgressCallback | None,
    attempt_number: int,
) -> tuple[AnyResponse | None, TarashException | None, AttemptStatus]:
    """Call the handler under the deadline: its response, or the tarash error it ends in
    and the attempt status that error means."""
    with anyio.move_on_after(config.timeout) as deadline:
        try:
            mock = getattr(config, "mock", None)
            if kind in ("tts", "sts") and mock is not None and mock.enabled:
                handler = _mock_stands_in(handler, kind, mock)
            result = await _call_handler(
                handler, kind, config, request, on_progress, attempt_number
            )
        except TarashException as exc:
            exc.provider = exc.provider or config.provider
            exc.model = exc.model or config.model
            return None, exc, "failed"
        except _Unsupported as exc:
            unsupported = _not_supported(config, kind, exc.cause)
            unsupported.__cause__ = exc.cause
            return None, unsupported, "skipped"
        except CallbackError:
            raise
        except Exception as exc:
            error = _foreign_error(config, exc)
            error.__cause__ = exc
            return None, error, "failed"
    if deadline.cancelled_caught:
        late = TarashTimeoutError(
            f"{config.provider} handler did not finish within {config.timeout:g} s (timeout); "
            "it was stopped, but a job it started cannot be cancelled remotely",
            provider=config.provider,
            model=config.model,
        )
        return None, late, "cancelled"
    try:
        return _checked_response(config, kind, result), None, "success"
    except TarashException as exc:
        return None, exc, "failed"


async def run_handler_attempt(
    handler: object,
    config: AnyConfig,
    request: AnyRequest,
    recorder: AttemptRecord,
    on_progress: ProgressCallback | None,
) -> AnyResponse:
    """Run one attempt of a chain on a handler provider and record it.

    Raises:
        ValidationError: The handler does not do this kind of job (``NotImplementedError``).
        TarashException: What the handler raised (a foreign exception chained, as
            ``__cause__``, to a :class:`TarashException`), or its deadline passed
            (:class:`~tarash.tarash_gateway.errors.TimeoutError`).
        CallbackError: The user's progress callback raised (the handler was stopped).
    """
    kind = next(kind for klass, kind in _KIND_OF_REQUEST if isinstance(request, klass))
    try:
        response, error, status = await _run_handler(
            handler, kind, config, request, on_progress, recorder.metadata.attempt_number
        )
    except CallbackError as exc:
        recorder.finish("cancelled", None, exc.original)
        raise
    except BaseException as exc:
        recorder.finish("cancelled", None, exc)
        raise
    if error is not None:
        # The key is in the config the handler was given: whatever it raised may quote it.
        scrub_exception(error, [secret for secret in (_secret_of(config),) if secret])
        recorder.finish(status, None, error)
        raise error
    assert response is not None
    recorder.metadata.request_id = response.request_id
    recorder.finish("success", None)
    return response
