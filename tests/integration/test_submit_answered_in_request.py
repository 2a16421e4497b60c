"""``submit_image`` refuses providers that answer in the request, before paying."""

from __future__ import annotations

import pytest

from tarash.emulator import Emulator
from tarash.tarash_gateway import submit_image, submit_image_async
from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest

pytestmark = pytest.mark.integration

ANSWERED_IN_THE_REQUEST = [
    ("stability", "stable-image-core"),
    ("openai", "gpt-image-1"),
]


def config_for(emu: Emulator, provider: str, model: str) -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider=provider,
        model=model,
        base_url=emu.base_url(provider),
        api_key=emu.api_key(provider),
    )


@pytest.mark.parametrize(("provider", "model"), ANSWERED_IN_THE_REQUEST)
def test_submit_image_is_refused_before_anything_is_paid(
    shared_emu: Emulator, provider: str, model: str
) -> None:
    """The create's reply is the image, which a handle could never read again: submit_image
    refuses (naming generate_image) and the emulator sees no job."""
    before = shared_emu.stats(provider).submitted
    with pytest.raises(ValidationError, match="generate_image"):
        submit_image(config_for(shared_emu, provider, model), ImageGenerationRequest(prompt="x"))
    assert shared_emu.stats(provider).submitted == before


@pytest.mark.anyio
async def test_submit_image_async_is_refused_too(shared_emu: Emulator) -> None:
    """The async twin refuses the same way."""
    before = shared_emu.stats("stability").submitted
    with pytest.raises(ValidationError, match="nothing was submitted"):
        await submit_image_async(
            config_for(shared_emu, "stability", "stable-image-core"),
            ImageGenerationRequest(prompt="x"),
        )
    assert shared_emu.stats("stability").submitted == before
