"""Every config of a fallback chain is checked before the first job is paid for."""

from __future__ import annotations

import pytest
import respx

from tarash.tarash_gateway.api import generate_video_async
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import VideoGenerationConfig, VideoGenerationRequest
from tests.unit.fake_provider import BASE, FAKE_KEY

pytestmark = pytest.mark.anyio


@pytest.mark.respx(assert_all_called=False)
async def test_a_provider_config_typo_in_a_fallback_fails_before_the_primary_submits(
    respx_mock: respx.MockRouter,
) -> None:
    """A misspelt provider_config option on the last fallback is refused up front: the
    primary's (paid) submit is never sent."""
    submit = respx_mock.post(f"{BASE}/jobs").respond(200, json={"id": "j1", "status": "done"})
    config = VideoGenerationConfig(
        provider="fake",
        model="t2v",
        api_key=FAKE_KEY,
        base_url=BASE,
        fallback_configs=[
            VideoGenerationConfig(
                provider="fal",
                model="fal-ai/veo3",
                api_key="id:secret",
                provider_config={"status_streem": False},
            )
        ],
    )
    with pytest.raises(ValidationError, match="status_streem"):
        await generate_video_async(config, VideoGenerationRequest(prompt="a cat"))
    assert submit.call_count == 0
