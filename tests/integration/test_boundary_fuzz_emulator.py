"""Random requests against the emulator: refused input creates no job, accepted input
creates exactly one, and every error is typed."""

from __future__ import annotations

import math
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tarash.emulator import Emulator
from tarash.tarash_gateway import api
from tarash.tarash_gateway.errors import TarashException, ValidationError
from tarash.tarash_gateway.models import VideoGenerationRequest
from tests._emulator import emulated_video_config, tiny_png

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

# fal's image-to-video Kling takes the image and all of extra_params; Replicate's Veo 3
# takes the prompt and extra_params.
TARGETS = {
    "fal": "fal-ai/kling-video/v2.1/standard/image-to-video",
    "replicate": "google/veo-3",
}

odd_text = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.sampled_from("\x00\t\n\r \u200b\ufeff"),
    ),
    max_size=10,
)
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-1000, 1000),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
        st.sampled_from([math.nan, math.inf, "bad \udc80"]),
        st.sets(st.integers(), max_size=2),
        st.binary(max_size=3),
        st.datetimes(),
    ),
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=4), children, max_size=2)
    ),
    max_leaves=4,
)
images = st.one_of(
    st.just(tiny_png()),
    st.binary(max_size=8),
    st.text(max_size=12),
    st.builds(lambda body: f"data:image/png;base64,{body}", st.text(max_size=8)),
    st.sampled_from(["", b"", "data:image/png;base64,"]),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    provider=st.sampled_from(sorted(TARGETS)),
    prompt=odd_text,
    extra=st.dictionaries(st.sampled_from(["mode", "cfg", "when"]), values, max_size=2),
    image=images,
)
async def test_refused_input_creates_no_job_at_the_emulator(
    emu: Emulator, provider: str, prompt: str, extra: dict[str, Any], image: Any
) -> None:
    """Whatever the request, the error is typed; a local refusal leaves no job behind, and
    an accepted submit leaves exactly one (cancelled here so nothing keeps running)."""
    before = emu.stats(provider).submitted
    config = emulated_video_config(emu, provider, TARGETS[provider])
    fields: dict[str, Any] = {"prompt": prompt, "extra_params": extra}
    if provider == "fal":
        fields["image_list"] = [{"image": image, "type": "first_frame"}]
    try:
        request = VideoGenerationRequest.model_validate(fields)
        handle = await api.submit_video_async(config, request)
    except (TarashException, pydantic.ValidationError) as exc:
        event(f"raised {type(exc).__name__}")
        if isinstance(exc, pydantic.ValidationError) or (
            isinstance(exc, ValidationError) and exc.status_code is None
        ):
            assert emu.stats(provider).submitted == before
        return
    event("submitted")
    assert emu.stats(provider).submitted == before + 1
    await api.cancel_async(handle, config=config)


def test_no_job_is_left_running(shared_emu: Emulator) -> None:
    """After the fuzzing, every job the emulator accepted has been cancelled or finished."""
    assert shared_emu.stats().running == 0
