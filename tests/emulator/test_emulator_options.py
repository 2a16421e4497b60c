"""Per-provider options objects: validation, the deprecated keyword, media-kind overrides."""

from __future__ import annotations

import httpx
import pytest

from tarash.emulator import (
    Emulator,
    FalOptions,
    Latency,
    MediaKind,
    ProviderOptions,
    ReplicateOptions,
)

from ._calls import fal_auth, fal_submit, fal_wait, replicate_create


def test_replicate_output_keyword_still_works_with_a_deprecation_warning(
    client: httpx.Client,
) -> None:
    """replicate_output= warns DeprecationWarning and acts as ReplicateOptions(output=...)."""
    with pytest.warns(DeprecationWarning, match="ReplicateOptions"):
        emu = Emulator(latency=Latency(0, 0.05), replicate_output="data_uri")
    with emu:
        body = replicate_create(client, emu, headers={"Prefer": "wait"}).json()
    assert body["output"].startswith("data:video/mp4;base64,")


def test_keyword_and_options_together_are_refused() -> None:
    """Giving replicate_output and ReplicateOptions is ambiguous and refused."""
    with (
        pytest.warns(DeprecationWarning, match="deprecated"),
        pytest.raises(ValueError, match="not both"),
    ):
        Emulator(replicate_output="url", options=[ReplicateOptions()])


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        (["url"], TypeError, "ProviderOptions instances"),
        ([ProviderOptions()], ValueError, "unknown provider"),
        ([FalOptions(), FalOptions()], ValueError, "two options for 'fal'"),
    ],
    ids=["not-options", "base-class", "duplicate"],
)
def test_bad_options_are_refused(options: list[object], error: type[Exception], match: str) -> None:
    """Options must be provider options, for a served provider, one per provider."""
    with pytest.raises(error, match=match):
        Emulator(options=options)  # type: ignore[arg-type]


def test_options_of_the_wrong_class_for_a_provider_are_refused() -> None:
    """A ProviderOptions subclass claiming another's provider name is a TypeError."""

    class Impostor(ProviderOptions):
        provider = "replicate"

    with pytest.raises(TypeError, match="must be ReplicateOptions"):
        Emulator(options=[Impostor()])


def test_option_values_are_checked() -> None:
    """A bad output mode or media kind fails when the options are built."""
    with pytest.raises(ValueError, match="output"):
        ReplicateOptions(output="base64")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="media_kinds"):
        FalOptions(media_kinds={"acme/model": "audio"})  # type: ignore[dict-item]
    assert FalOptions(media_kinds={"a/b": "image"}).media_kinds == {"a/b": MediaKind.IMAGE}


def test_media_kinds_option_overrides_the_providers_table(client: httpx.Client) -> None:
    """A model the table calls video makes images once the user's options say so."""
    options = [FalOptions(media_kinds={"acme/painter": MediaKind.IMAGE})]
    with Emulator(latency=Latency(0, 0.02), options=options) as emu:
        painted = fal_submit(client, emu, "acme/painter").json()
        fal_wait(client, emu, painted["status_url"])
        result = client.get(painted["response_url"], headers=fal_auth(emu)).json()
        other = fal_submit(client, emu, "fal-ai/veo3").json()
        fal_wait(client, emu, other["status_url"])
        video = client.get(other["response_url"], headers=fal_auth(emu)).json()
    assert result["images"][0]["content_type"] == "image/png"
    assert video["video"]["content_type"] == "video/mp4"


def test_replicate_serves_images_for_its_own_families(client: httpx.Client) -> None:
    """google/nano-banana on Replicate outputs a list of PNG URLs (it was a video)."""
    with Emulator(latency=Latency(0, 0.02)) as emu:
        body = replicate_create(client, emu, "google/nano-banana", headers={"Prefer": "wait"})
        output = body.json()["output"]
        assert isinstance(output, list)
        assert client.get(output[0]).content.startswith(b"\x89PNG")
