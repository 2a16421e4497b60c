"""Published-style provider handlers in tarash's one registry: lookup, attempts, fallback,
progress, errors, deadlines, and the registry's published door."""

from __future__ import annotations

import inspect
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx
import pytest
import respx

from tarash.tarash_gateway import (
    GenerationFailedError,
    TarashException,
    TimeoutError,
    ValidationError,
    generate_image,
    generate_video,
    generate_video_async,
    register_provider,
    registry,
    status_async,
    submit_video,
)
from tarash.tarash_gateway import api as api_module
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers import (
    available_providers,
    get_provider_class,
    provider_key,
)
from tarash.tarash_gateway.providers.fal import FalClient
from tarash.tarash_gateway.providers.replicate import ReplicateClient
from tests.unit.fake_provider import BASE, FAKE_KEY

KEY = "sk-handler-unit-canary-9911"


def _name(prefix: str = "unit-prov") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _plain_key(config: Any) -> str:
    """The config's key as a handler reads it (a str, or a SecretStr on older configs)."""
    key = config.api_key
    return key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)


def _response(request_id: str = "h-1", **fields: Any) -> VideoGenerationResponse:
    return VideoGenerationResponse(
        request_id=request_id, video="https://cdn.example/h.mp4", raw_response={}, **fields
    )


def _update(request_id: str = "h-1", percent: int = 50) -> VideoGenerationUpdate:
    return VideoGenerationUpdate(
        request_id=request_id,
        status="processing",
        progress_percent=percent,
        provider="set-by-handler",
        model="set-by-handler",
    )


class AsyncOnly:
    """Implements only generate_video_async (the other methods are absent)."""

    def __init__(
        self,
        *,
        error: BaseException | None = None,
        result: object = None,
        updates: int = 0,
        await_updates: bool = True,
    ) -> None:
        self.error = error
        self.result = result
        self.updates = updates
        self.await_updates = await_updates
        self.configs: list[Any] = []

    async def generate_video_async(
        self, config: Any, request: Any, on_progress: Any = None
    ) -> object:
        self.configs.append(config)
        for number in range(self.updates):
            delivery = on_progress(_update(percent=number))
            if self.await_updates and inspect.isawaitable(delivery):
                await delivery
        if self.error is not None:
            raise self.error
        return self.result if self.result is not None else _response()


class SyncOnly:
    """Implements only the sync generate_video, as many hand-written handlers do."""

    def __init__(self, *, updates: int = 0, block: threading.Event | None = None) -> None:
        self.updates = updates
        self.block = block
        self.threads: list[int] = []

    def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> object:
        self.threads.append(threading.get_ident())
        for number in range(self.updates):
            on_progress(_update(percent=number))
        if self.block is not None:
            self.block.wait(timeout=5)
        return _response("sync-1")


def _config(provider: str, **kwargs: Any) -> VideoGenerationConfig:
    kwargs.setdefault("model", "m-1")
    return VideoGenerationConfig(provider=provider, api_key=KEY, **kwargs)


def _request() -> VideoGenerationRequest:
    return VideoGenerationRequest(prompt="a cat")


# -- the registry ----------------------------------------------------------------------


def test_lookup_is_normalised_and_configs_keep_the_name_as_written() -> None:
    """'Unit-Prov-x' registered is found as 'unit_prov_x' and ' UNIT-PROV-X '; each config,
    its metadata and the handler see the name as that config wrote it."""
    name = _name("Unit-Prov")
    handler = AsyncOnly()
    register_provider(name, handler)
    for written in (name, name.lower().replace("-", "_"), f" {name.upper()} "):
        response = generate_video(_config(written), _request())
        assert response.execution_metadata.attempts[0].provider == written
        assert handler.configs[-1].provider == written
    assert provider_key(name) == name.lower().replace("-", "_")
    assert name in available_providers()


def test_registering_replaces_a_built_in_until_registered_back() -> None:
    """register_provider('replicate', handler) serves replicate configs; a client class
    registered again restores it (registrations are global, the last one wins)."""
    handler = AsyncOnly(result=_response("from-override"))
    register_provider("Replicate", handler)
    try:
        config = VideoGenerationConfig(provider="replicate", model="o/m")
        assert generate_video(config, _request()).request_id == "from-override"
        assert registry.get_handler(config) is handler
    finally:
        register_provider("replicate", ReplicateClient)
    assert get_provider_class("replicate") is ReplicateClient


@pytest.mark.parametrize(
    ("handler", "match"),
    [
        (AsyncOnly, "pass AsyncOnly"),
        (object(), "has none of generate_video"),
    ],
)
def test_register_provider_refuses_what_cannot_serve(handler: object, match: str) -> None:
    """A handler class (not an instance) or an object with no handler method is refused."""
    with pytest.raises(ValidationError, match=match):
        register_provider(_name(), handler)


def test_register_provider_refuses_a_malformed_name() -> None:
    """A name no config could use ('my provider!') is a ValidationError."""
    with pytest.raises(ValidationError, match="provider"):
        register_provider("my provider!", AsyncOnly())


def test_protocol_stubs_count_as_not_implemented() -> None:
    """A class subclassing a Protocol inherits '...' stubs: those are not implementations."""
    from typing import Protocol

    class Handler(Protocol):
        def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any: ...

        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any: ...

    class OnlySync(Handler):
        def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
            return _response("stubbed-async-skipped")

    name = _name()
    register_provider(name, OnlySync())
    assert generate_video(_config(name), _request()).request_id == "stubbed-async-skipped"


def test_get_handler_wraps_a_client_class_which_registers_back_as_that_class() -> None:
    """get_handler(fal config) has the four methods; registering it under another name
    registers FalClient itself (no handler wrapping a handler)."""
    wrapped = registry.get_handler(VideoGenerationConfig(provider="FAL", model="fal-ai/x"))
    for method in ("generate_video", "generate_video_async", "generate_image"):
        assert callable(getattr(wrapped, method))
    alias = _name("fal-alias")
    register_provider(alias, wrapped)
    assert get_provider_class(alias) is FalClient


def test_get_handler_refuses_an_unknown_provider() -> None:
    """An unknown name is a ValidationError naming it, as published."""
    with pytest.raises(ValidationError, match="unknown provider"):
        registry.get_handler(_config("no-such-provider-here"))


def test_the_registry_and_api_doors_are_the_same_function() -> None:
    """register_provider is one object at the root, in api and in registry."""
    import tarash.tarash_gateway as gateway

    assert gateway.register_provider is api_module.register_provider is registry.register_provider


# -- attempts --------------------------------------------------------------------------


def test_sync_only_handler_runs_in_a_worker_thread_and_reports_progress() -> None:
    """A sync-only handler runs off the event loop; its updates reach the callback in
    order, with the attempt number filled in."""
    name = _name()
    handler = SyncOnly(updates=3)
    register_provider(name, handler)
    seen: list[VideoGenerationUpdate] = []
    response = generate_video(_config(name), _request(), on_progress=seen.append)
    assert response.request_id == "sync-1"
    assert handler.threads and handler.threads[0] != threading.get_ident()
    assert [update.progress_percent for update in seen] == [0, 1, 2]
    assert {update.attempt_number for update in seen} == {1}


@pytest.mark.anyio
async def test_updates_not_awaited_still_reach_an_async_callback_in_order() -> None:
    """An async handler that calls on_progress without awaiting loses no update, even
    for an async callback; all are delivered before the response returns."""
    name = _name()
    register_provider(name, AsyncOnly(updates=4, await_updates=False))
    seen: list[int | None] = []

    async def on_progress(update: VideoGenerationUpdate) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(update.progress_percent)

    await generate_video_async(_config(name), _request(), on_progress=on_progress)
    assert seen == [0, 1, 2, 3]


@pytest.mark.anyio
async def test_provider_and_model_are_filled_into_updates_lacking_them() -> None:
    """An update built without provider/model (published style) gets the attempt's."""
    name = _name()

    class Bare:
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            bare = VideoGenerationUpdate.model_construct(
                request_id="b", status="queued", provider=None, model=None, attempt_number=1
            )
            await on_progress(bare)
            return _response()

    register_provider(name, Bare())
    seen: list[VideoGenerationUpdate] = []
    await generate_video_async(_config(name, model="m-9"), _request(), on_progress=seen.append)
    assert [(u.provider, u.model) for u in seen] == [(name, "m-9")]


def test_a_raising_callback_stops_the_handler_and_is_raised_unchanged() -> None:
    """The user's callback error comes back as itself, not wrapped; no fallback."""
    name, backup = _name(), AsyncOnly(result=_response("backup"))
    backup_name = _name()
    register_provider(name, AsyncOnly(updates=2))
    register_provider(backup_name, backup)

    def on_progress(update: object) -> None:
        raise KeyError("callback broke")

    config = _config(name, fallback_configs=[_config(backup_name)])
    with pytest.raises(KeyError, match="callback broke"):
        generate_video(config, _request(), on_progress=on_progress)
    assert backup.configs == []


def test_response_gets_metadata_and_the_provider_and_model_when_missing() -> None:
    """The handler's response keeps its fields and gains execution metadata, provider and
    model; the attempt records the handler's request id."""
    name = _name()
    register_provider(name, AsyncOnly(result=_response("rid-7")))
    response = generate_video(_config(name, model="m-2"), _request())
    assert (response.request_id, response.provider, response.model) == ("rid-7", name, "m-2")
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.status, attempt.request_id, attempt.model) == ("success", "rid-7", "m-2")
    assert response.execution_metadata.successful_attempt == 1


# -- errors ----------------------------------------------------------------------------


def test_not_implemented_is_a_validation_error_and_a_skipped_attempt() -> None:
    """An image job on a video-only handler: ValidationError naming the provider and the
    kind, chained to the NotImplementedError; the attempt is skipped (nothing was done)."""
    name = _name()

    class VideoOnly(AsyncOnly):
        async def generate_image_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            raise NotImplementedError("no images here")

    register_provider(name, VideoOnly())
    config = ImageGenerationConfig(provider=name, model="m", api_key=KEY)
    with pytest.raises(ValidationError, match="does not support image generation") as info:
        generate_image(config, ImageGenerationRequest(prompt="a cat"))
    assert isinstance(info.value.__cause__, NotImplementedError)
    assert info.value.provider == name
    meta = info.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "skipped"


def test_a_handler_without_the_method_is_not_supported_either() -> None:
    """No image method at all reads as NotImplementedError: a clear ValidationError."""
    name = _name()
    register_provider(name, AsyncOnly())
    config = ImageGenerationConfig(provider=name, model="m", api_key=KEY)
    with pytest.raises(ValidationError, match=f"{name} does not support image generation"):
        generate_image(config, ImageGenerationRequest(prompt="a cat"))


def test_async_not_implemented_falls_through_to_the_sync_method() -> None:
    """An async method raising NotImplementedError lets the sync one serve the job."""
    name = _name()

    class SyncReally(SyncOnly):
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            raise NotImplementedError

    register_provider(name, SyncReally())
    assert generate_video(_config(name), _request()).request_id == "sync-1"


def test_a_foreign_error_is_chained_scrubbed_and_does_not_fall_back() -> None:
    """RuntimeError (quoting the key) -> TarashException chained to it, the key scrubbed
    from message, cause and metadata; unknown errors do not buy a second job."""
    name, backup_name = _name(), _name()
    backup = AsyncOnly(result=_response("backup"))

    class Leaky:
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            raise RuntimeError(f"upstream refused Bearer {_plain_key(config)}")

    register_provider(name, Leaky())
    register_provider(backup_name, backup)
    config = _config(name, fallback_configs=[_config(backup_name)])
    with pytest.raises(TarashException) as info:
        generate_video(config, _request())
    error = info.value
    assert type(error) is TarashException and not error.fallback_allowed
    assert isinstance(error.__cause__, RuntimeError)
    assert "RuntimeError" in error.message and "upstream refused" in error.message
    meta = error.execution_metadata
    assert meta is not None and meta.attempts[0].status == "failed"
    for text in (error.message, str(error.__cause__), meta.attempts[0].error_message or ""):
        assert KEY not in text
    assert backup.configs == []


def test_a_tarash_error_drives_fallback_to_the_next_handler() -> None:
    """GenerationFailedError from a handler moves down the chain like a built-in's; the
    error gains the provider and model it lacked."""
    name, backup_name = _name(), _name()
    register_provider(name, AsyncOnly(error=GenerationFailedError("busy")))
    register_provider(backup_name, AsyncOnly(result=_response("from-backup")))
    config = _config(name, fallback_configs=[_config(backup_name, model="m-b")])
    response = generate_video(config, _request())
    meta = response.execution_metadata
    assert response.request_id == "from-backup"
    assert [(a.provider, a.status) for a in meta.attempts] == [
        (name, "failed"),
        (backup_name, "success"),
    ]
    assert meta.attempts[0].error_type == "GenerationFailedError"


def test_a_wrong_return_type_is_a_tarash_error_without_fallback() -> None:
    """A handler returning something other than the response class is a TarashException
    (it ran, and may have paid): no fallback."""
    name = _name()
    register_provider(name, AsyncOnly(result={"video": "https://x.test/v.mp4"}))
    with pytest.raises(TarashException, match="returned dict, not a VideoGenerationResponse"):
        generate_video(_config(name), _request())


@pytest.mark.anyio
async def test_the_deadline_stops_an_async_handler() -> None:
    """config.timeout bounds a handler: a hung async handler is cancelled, the attempt
    recorded as cancelled, a tarash TimeoutError raised."""
    name = _name()
    stopped = anyio.Event()

    class Hung:
        async def generate_video_async(
            self, config: Any, request: Any, on_progress: Any = None
        ) -> Any:
            try:
                await anyio.sleep_forever()
            finally:
                stopped.set()

    register_provider(name, Hung())
    with pytest.raises(TimeoutError, match="did not finish within") as info:
        await generate_video_async(_config(name, timeout=0.05), _request())
    assert stopped.is_set()
    meta = info.value.execution_metadata
    assert meta is not None and meta.attempts[0].status == "cancelled"


@pytest.mark.anyio
async def test_the_deadline_abandons_a_blocked_sync_handler_and_its_updates() -> None:
    """A sync handler blocked past the deadline is abandoned (threads cannot be
    cancelled); an update it sends afterwards is dropped, not delivered late."""
    name = _name()
    release = threading.Event()
    sent_late = threading.Event()
    seen: list[object] = []

    class Blocked:
        def generate_video(self, config: Any, request: Any, on_progress: Any = None) -> Any:
            release.wait(timeout=5)
            on_progress(_update())
            sent_late.set()
            return _response()

    register_provider(name, Blocked())
    with pytest.raises(TimeoutError):
        await generate_video_async(_config(name, timeout=0.05), _request(), seen.append)
    release.set()
    await anyio.to_thread.run_sync(sent_late.wait, 5)
    assert seen == []


# -- the job protocol is not a handler's ------------------------------------------------


def test_submit_refuses_a_handler_provider() -> None:
    """submit_video on a handler provider: ValidationError, nothing called."""
    name = _name()
    handler = AsyncOnly()
    register_provider(name, handler)
    with pytest.raises(ValidationError, match="custom handler"):
        submit_video(_config(name), _request())
    assert handler.configs == []


@pytest.mark.anyio
async def test_status_refuses_a_handle_of_a_handler_provider() -> None:
    """status/wait/cancel on a handle naming a handler provider: ValidationError."""
    name = _name()
    register_provider(name, AsyncOnly())
    handle = JobHandle(
        kind="video",
        provider=name,
        model="m",
        request_id="r-1",
        base_url="https://x.test",
        submitted_at=datetime.now(UTC),
    )
    with pytest.raises(ValidationError, match="job protocol"):
        await status_async(handle)


@pytest.mark.anyio
async def test_a_config_matches_its_handle_whatever_the_spelling() -> None:
    """status(handle, config=...) with 'Fake' against a handle saying 'fake' is the same
    provider: no mismatch error, the status is read."""
    handle = JobHandle(
        kind="video",
        provider="fake",
        model="m",
        request_id="j-1",
        base_url=BASE,
        submitted_at=datetime.now(UTC),
    )
    config = VideoGenerationConfig(provider="Fake", model="m", api_key=FAKE_KEY)
    with respx.mock(assert_all_called=True) as router:
        router.get(f"{BASE}/jobs/j-1").mock(
            return_value=httpx.Response(200, json={"status": "running", "progress": 40})
        )
        update = await status_async(handle, config=config)
    assert update.progress_percent == 40


def test_the_mock_takes_precedence_over_a_registered_handler() -> None:
    """mock=MockConfig(enabled=True) runs the mock even for a handler provider, as
    published (get_handler checks the mock first)."""
    from tarash.tarash_gateway.mock import MockConfig

    name = _name()
    handler = AsyncOnly()
    register_provider(name, handler)
    response = generate_video(_config(name, mock=MockConfig(enabled=True)), _request())
    assert response.is_mock
    assert handler.configs == []


def test_concurrent_registrations_are_all_kept() -> None:
    """Registering from many threads at once loses none (the registry is locked)."""
    names = [_name("threaded") for _ in range(16)]
    handlers = {name: AsyncOnly() for name in names}
    threads = [
        threading.Thread(target=register_provider, args=(name, handlers[name])) for name in names
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names:
        assert registry.get_handler(_config(name)) is handlers[name]
