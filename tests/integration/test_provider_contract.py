"""tarash against every emulated provider: the same behaviour, written once over a table.

Each row names a provider's emulator mount, a video and an image model, and the words its
failures carry. The tests pin what tarash does with each fault knob (retried, raised, or
left for the caller, never resubmitted blindly) and that no job is left running.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tarash.emulator import Emulator, Fault
from tarash.tarash_gateway import (
    generate_image,
    generate_image_async,
    generate_video,
    generate_video_async,
)
from tarash.tarash_gateway.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    ProviderServerError,
    TimeoutError,
)
from tarash.tarash_gateway.media import sniff_mime
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
)
from tests._emulator import CLIENT_WIRE_BUGS, FAST, emulated_video_config

pytestmark = pytest.mark.integration

REQUEST = VideoGenerationRequest(prompt="a cat")


@dataclass(frozen=True)
class Row:
    """One provider as tarash meets it in the emulator."""

    provider: str
    video_model: str | None
    """None for an image-only provider: the cases run on its image model instead."""
    image_model: str | None
    """None for a video-only provider (OpenRouter's video API): the image case is skipped."""
    wrong_key: str
    failure: str
    """Text of a ``job_failure``'s GenerationFailedError."""
    refusal: str
    """Text of a ``content_refusal``'s ContentModerationError."""
    synchronous: bool = False
    """The API answers in the request: no status read, nothing to cancel (those cases are
    skipped), and a failed generation is its create's 5xx."""
    cancellable: bool = True
    """tarash can stop a job given up on (OpenAI's Sora cannot: the job runs on and no
    fallback follows)."""
    label: str | None = None
    """The row's test id when one provider has several rows."""
    base_path: str | None = None
    """The client's base under the emulator's URL when not the provider's own mount
    (Vertex AI: ``/google/v1beta1``)."""
    provider_config: dict[str, Any] = field(default_factory=dict)
    """The configs' ``provider_config`` (Vertex AI: ``vertexai``, ``project``, ...)."""

    def fields(self, emu: Emulator) -> dict[str, Any]:
        """What this row's configs set beyond provider and model (kwargs override it)."""
        base = emu.base_url(self.provider) if self.base_path is None else emu.url + self.base_path
        return {"base_url": base, "provider_config": dict(self.provider_config)}


ROWS = (
    Row(
        "fal",
        "fal-ai/veo3",
        "fal-ai/flux/dev",
        "someone:else",
        "Internal Server Error",
        "flagged",
    ),
    Row(
        "replicate",
        "google/veo-3",
        "black-forest-labs/flux-schnell",
        "r8_someone_else",
        "CUDA out of memory",
        "E005",
    ),
    Row(
        "stability",
        None,
        "stable-image-core",
        "sk-someone-else",
        "unexpected server error",
        "flagged by our content moderation",
        synchronous=True,
    ),
    Row(
        "openai",
        "sora-2",
        "gpt-image-1",
        "sk-someone-else",
        "internal_error",
        "moderation_blocked",
        cancellable=False,
    ),
    Row(
        "openai",
        None,
        "gpt-image-1",
        "sk-someone-else",
        "server had an error",
        "moderation_blocked",
        synchronous=True,
        label="openai-images",
    ),
    Row(
        "azure_openai",
        "my-sora-deployment",
        "my-image-deployment",
        "someone-elses-key",
        "internal_error",
        "moderation_blocked",
        cancellable=False,
    ),
    Row(
        "runway",
        "gen4.5",
        "gen4_image",
        "key_" + "f" * 128,
        "INTERNAL.BAD_OUTPUT",
        "SAFETY.INPUT.TEXT",
    ),
    Row(
        "google",
        "veo-3.1-generate-preview",
        "gemini-3.1-flash-image",
        "AIza-someone-else",
        "internal error",
        "person generation",
        cancellable=False,
    ),
    Row(
        "xai",
        "grok-imagine-video",
        "grok-imagine-image",
        "xai-someone-else",
        "internal_error",
        "moderation",
        cancellable=False,
    ),
    Row(
        "openrouter",
        "google/veo-3.1",
        None,
        "sk-or-v1-someone-else",
        "Video generation failed",
        "content moderation",
        cancellable=False,
    ),
    Row(
        "google",
        "veo-3.1-generate-001",
        "imagen-4.0-generate-001",
        "ya29.someone-else",
        "internal error",
        "person generation",
        cancellable=False,
        label="google-vertex",
        base_path="/google/v1beta1",
        provider_config={"vertexai": True, "project": "my-project", "location": "us-central1"},
    ),
)


@pytest.fixture(params=ROWS, ids=lambda row: row.label or row.provider)
def row(request: pytest.FixtureRequest) -> Row:
    """Each provider of the table in turn."""
    found: Row = request.param
    return found


@pytest.fixture
def fresh(fresh_emu: Emulator) -> Iterator[Emulator]:
    """A private emulator; after the test, every job it saw has ended (none orphaned)."""
    yield fresh_emu
    deadline = time.monotonic() + 5
    while fresh_emu.stats().running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fresh_emu.stats().running == 0, fresh_emu.jobs()


def video_config(emu: Emulator, row: Row, **kwargs: object) -> VideoGenerationConfig:
    assert row.video_model is not None
    config = emulated_video_config(emu, row.provider, row.video_model)
    return config.model_copy(update={**row.fields(emu), **kwargs})


def image_config(emu: Emulator, row: Row, **kwargs: Any) -> ImageGenerationConfig:
    fields: dict[str, Any] = {
        "provider": row.provider,
        "model": row.image_model,
        "api_key": emu.api_key(row.provider),
        "poll_interval": 0.05,
        **row.fields(emu),
        **kwargs,
    }
    return ImageGenerationConfig(**fields)


def generate(emu: Emulator, row: Row, **kwargs: Any) -> Any:
    """One job on the row's video model, or its image model for an image-only provider."""
    if row.video_model is None:
        return generate_image(
            image_config(emu, row, **kwargs), ImageGenerationRequest(prompt="a cat")
        )
    fields: dict[str, Any] = {
        "provider": row.provider,
        "model": row.video_model,
        "api_key": emu.api_key(row.provider),
        "poll_interval": 0.05,
        **row.fields(emu),
        **kwargs,
    }
    return generate_video(VideoGenerationConfig(**fields), REQUEST)


async def generate_async(emu: Emulator, row: Row, **kwargs: Any) -> Any:
    """:func:`generate`, through the async API."""
    if row.video_model is None:
        return await generate_image_async(
            image_config(emu, row, **kwargs), ImageGenerationRequest(prompt="a cat")
        )
    return await generate_video_async(video_config(emu, row, **kwargs), REQUEST)


def skip_if_synchronous(row: Row, why: str = "no status read or cancel") -> None:
    if row.synchronous:
        pytest.skip(f"{row.provider} answers in the request: {why}")


def test_video_end_to_end_saves_a_real_mp4(row: Row, fresh: Emulator, tmp_path: Path) -> None:
    """The sync API: one job, the response names it, save() writes a valid MP4."""
    if row.video_model is None:
        pytest.skip(f"{row.provider} makes no video")
    response = generate_video(video_config(fresh, row), REQUEST)
    [job] = fresh.jobs(row.provider)
    assert (response.provider, response.request_id, job.state) == (
        row.provider,
        job.id,
        "succeeded",
    )
    assert response.execution_metadata.attempts[0].status == "success"
    data = response.save(tmp_path / "out.mp4").read_bytes()
    assert sniff_mime(data) == "video/mp4"


def test_image_end_to_end_saves_a_real_png(row: Row, fresh: Emulator, tmp_path: Path) -> None:
    """An image model's output saves as a valid PNG."""
    if row.image_model is None:
        pytest.skip(f"{row.provider} makes no images")
    response = generate_image(image_config(fresh, row), ImageGenerationRequest(prompt="a fox"))
    assert len(response.images) == 1
    assert sniff_mime(response.save(tmp_path / "out.png").read_bytes()) == "image/png"


def test_refused_key_is_an_authentication_error(row: Row) -> None:
    """A key the provider refuses is an AuthenticationError and no job."""
    with Emulator(
        latency=FAST, required_keys={row.provider: "the-only:key"}, options=CLIENT_WIRE_BUGS
    ) as emu:
        with pytest.raises(AuthenticationError):
            generate(emu, row, api_key=row.wrong_key)
        assert emu.stats().submitted == 0


@pytest.mark.anyio
async def test_rate_limited_submit_is_retried(row: Row, fresh: Emulator) -> None:
    """A 429 on submit (nothing queued) is retried after Retry-After: one job, two submits."""
    fresh.inject(Fault("rate_limit", provider=row.provider, operation="submit", retry_after=0))
    response = await generate_async(fresh, row)
    attempt = response.execution_metadata.attempts[0]
    assert (attempt.submit_count, attempt.retries) == (2, 1)
    assert fresh.stats().submitted == 1


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["server_error", "drop_connection", "malformed_json"])
async def test_a_bad_status_read_is_retried(row: Row, fresh: Emulator, kind: str) -> None:
    """A 500, a dropped connection or a cut-short body on a status read is read again and the
    job is followed to its end."""
    skip_if_synchronous(row)
    fresh.inject(Fault(kind, provider=row.provider, operation="status"))  # type: ignore[arg-type]
    response = await generate_video_async(video_config(fresh, row), REQUEST)
    assert response.execution_metadata.attempts[0].status == "success"
    assert fresh.stats().submitted == 1


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("server_error", ProviderServerError),
        ("drop_connection", HTTPConnectionError),
        ("drop_after_create", HTTPConnectionError),
    ],
)
def test_a_submit_that_may_have_created_a_job_is_not_resubmitted(
    row: Row, fresh: Emulator, kind: str, error: type[Exception]
) -> None:
    """A 5xx or a dropped reply on submit raises without a second submit: the job may exist
    (with drop_after_create it does, and runs to its end)."""
    fresh.inject(Fault(kind, provider=row.provider, operation="submit"))  # type: ignore[arg-type]
    with pytest.raises(error):
        generate(fresh, row)
    assert fresh.stats().submitted == (1 if kind == "drop_after_create" else 0)


def test_failed_job_is_generation_failed(row: Row, fresh: Emulator) -> None:
    """job_failure is a GenerationFailedError with the provider's message and the job id."""
    skip_if_synchronous(row, "a failed generation is the create's 5xx (a server_error)")
    fresh.inject(Fault("job_failure", provider=row.provider))
    with pytest.raises(GenerationFailedError, match=row.failure) as caught:
        generate_video(video_config(fresh, row), REQUEST)
    assert not isinstance(caught.value, ContentModerationError)
    assert caught.value.request_id == fresh.jobs(row.provider)[0].id
    assert caught.value.execution_metadata is not None
    assert caught.value.execution_metadata.attempts[0].status == "failed"


def test_refused_content_is_content_moderation(row: Row, fresh: Emulator) -> None:
    """content_refusal is a ContentModerationError."""
    fresh.inject(Fault("content_refusal", provider=row.provider))
    with pytest.raises(ContentModerationError, match=row.refusal):
        generate(fresh, row)


@pytest.mark.anyio
async def test_a_stuck_job_is_cancelled_at_the_deadline(row: Row, fresh: Emulator) -> None:
    """A stuck job past timeout=1.0 is a TimeoutError and is cancelled remotely (where the
    protocol cannot stop it: left running, no fallback allowed, its handle on the error)."""
    skip_if_synchronous(row, "nothing to cancel (the held create is its own test)")
    if not row.cancellable:
        with Emulator(
            latency=FAST,
            faults=[Fault("stuck", provider=row.provider)],
            options=CLIENT_WIRE_BUGS,
        ) as emu:
            with pytest.raises(TimeoutError) as caught:
                await generate_video_async(video_config(emu, row, timeout=1.0), REQUEST)
            assert caught.value.fallback_allowed is False
            assert caught.value.job_handle is not None
            assert [job.state for job in emu.jobs(row.provider)] == ["running"]
        return
    fresh.inject(Fault("stuck", provider=row.provider))
    with pytest.raises(TimeoutError) as caught:
        await generate_video_async(video_config(fresh, row, timeout=1.0), REQUEST)
    assert caught.value.execution_metadata is not None
    assert caught.value.execution_metadata.attempts[0].status == "cancelled"
    assert [job.state for job in fresh.jobs(row.provider)] == ["cancelled"]
    assert fresh.stats().cancelled == 1
