"""Every fal and Replicate registry entry, and what it sends, pinned against a snapshot.

For each registered model id (a family key ``"a/"`` as ``"a/x"``), the generic specs and a
pinned Replicate version, the snapshot holds the spec as data and, for a handful of
representative requests, the outcome of adapting then mapping as the chain does: the wire
payload with its adaptation notes and summary, or the refusal's class and message. It was
written from ``main`` before the two registries' spec builders became one, so a change to
how specs are built that changes one byte of one payload fails here.

A change that means to alter what a model is sent (a new model, a corrected field) rewrites
the snapshot with ``python -m tests.unit.test_registry_snapshot`` and shows the diff of
``registry_snapshot.json`` in its commit.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tarash.tarash_gateway.errors import TarashException
from tarash.tarash_gateway.models import ImageGenerationRequest, VideoGenerationRequest
from tarash.tarash_gateway.providers._adapt import adapt_image_request, adapt_video_request
from tarash.tarash_gateway.providers._base import ProviderClient, ProviderSettings
from tarash.tarash_gateway.providers._spec import ModelSpec
from tarash.tarash_gateway.providers.fal import FalClient
from tarash.tarash_gateway.providers.fal_models import FAL_MODELS
from tarash.tarash_gateway.providers.replicate import ReplicateClient
from tarash.tarash_gateway.providers.replicate_models import REPLICATE_MODELS

SNAPSHOT = Path(__file__).with_name("registry_snapshot.json")

FIRST = "https://example.test/first.png"
LAST = "https://example.test/last.png"
REF = "https://example.test/ref.png"
CLIP = "https://example.test/clip.mp4"
MASK = "https://example.test/mask.png"
# Inputs some models require through extra_params (an audio track, a Sora video id, ...).
REQUIRED_EXTRAS = {
    "audio_url": "https://example.test/voice.mp3",
    "video_id": "video_123",
    "effect": "squish",
    "video_urls": [CLIP],
}


def _video_requests() -> dict[str, VideoGenerationRequest]:
    return {
        "text": VideoGenerationRequest(
            prompt="a cat",
            negative_prompt="blur",
            seed=7,
            aspect_ratio="4:3",
            resolution="720p",
            duration_seconds=5,
            generate_audio=True,
            enhance_prompt=True,
        ),
        "frames": VideoGenerationRequest(
            prompt="a cat",
            image_list=[
                {"image": FIRST, "type": "first_frame"},
                {"image": LAST, "type": "last_frame"},
            ],
            aspect_ratio="9:16",
            resolution="1080p",
            duration_seconds=10,
        ),
        "references_and_video": VideoGenerationRequest(
            prompt="a cat",
            image_list=[{"image": REF, "type": "reference"}, {"image": FIRST, "type": "reference"}],
            video=CLIP,
            duration_seconds=7,
            resolution="480p",
            extra_params=REQUIRED_EXTRAS,
        ),
        "minimal_two": VideoGenerationRequest(
            prompt="a cat", number_of_videos=2, aspect_ratio="21:9"
        ),
    }


def _image_requests() -> dict[str, ImageGenerationRequest]:
    return {
        "ratio": ImageGenerationRequest(
            prompt="a cat",
            aspect_ratio="16:9",
            n=2,
            seed=7,
            negative_prompt="blur",
            style="realistic",
        ),
        "size_and_images": ImageGenerationRequest(
            prompt="a cat",
            size="1024x768",
            quality="high",
            image_list=[
                {"image": FIRST, "type": "first_frame"},
                {"image": REF, "type": "reference"},
            ],
        ),
        "auto_and_mask": ImageGenerationRequest(
            prompt="a cat", size="auto", mask_image=MASK, n=6, extra_params=REQUIRED_EXTRAS
        ),
        "odd_ratio": ImageGenerationRequest(prompt="a cat", aspect_ratio="3:2"),
    }


def _plain(value: Any) -> Any:
    """JSON-ready data: dataclasses, mappings and tuples as dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _outcome(
    client: ProviderClient, request: VideoGenerationRequest | ImageGenerationRequest, strict: bool
) -> dict[str, Any]:
    """Adapt then map, as the chain does; the payload and notes, or the refusal."""
    where = {"strict": strict, "provider": client.name, "model": client.model}
    try:
        if isinstance(request, VideoGenerationRequest):
            video, notes = adapt_video_request(request, client.capabilities("video"), **where)
            job = client.prepare_video(video)
        else:
            image, notes = adapt_image_request(request, client.capabilities("image"), **where)
            job = client.prepare_image(image)
    except TarashException as error:
        return {"error": type(error).__name__, "message": error.message}
    return {
        "payload": job.payload,
        "adaptations": notes,
        "notes": job.adaptations,
        "summary": job.summary,
    }


def _model_ids(registry: Mapping[str, ModelSpec], extra: tuple[str, ...]) -> list[str]:
    return [f"{key}x" if key.endswith("/") else key for key in registry] + list(extra)


def build_snapshot() -> dict[str, Any]:
    """Spec and outcomes of every model id of both registries, keyed ``provider:model``."""
    clients: list[ProviderClient] = []
    for model in _model_ids(FAL_MODELS, ("fal-ai/not-registered",)):
        clients.append(FalClient(ProviderSettings(model=model, api_key=None)))
    pinned = "google/veo-3:" + "a" * 64
    for model in _model_ids(REPLICATE_MODELS, ("someone/not-registered", pinned, "b" * 64)):
        clients.append(ReplicateClient(ProviderSettings(model=model, api_key=None)))
    snapshot: dict[str, Any] = {}
    for client in clients:
        entry: dict[str, Any] = {}
        for kind, requests in (("video", _video_requests()), ("image", _image_requests())):
            entry[f"{kind}_spec"] = _plain(client.spec_for(kind))
            for name, request in requests.items():
                entry[f"{kind}:{name}"] = _outcome(client, request, strict=False)
            first = next(iter(requests.values()))
            entry[f"{kind}:strict"] = _outcome(client, first, strict=True)
        snapshot[f"{client.name}:{client.model}"] = entry
    return snapshot


def _dumps(snapshot: Mapping[str, Any]) -> str:
    # One model a line: a diff names the models it changes.
    lines = [
        f"{json.dumps(key)}: {json.dumps(value, sort_keys=True)}"
        for key, value in sorted(snapshot.items())
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def test_every_registered_model_maps_as_the_snapshot_says() -> None:
    """Every fal and Replicate model's spec, payloads, notes and refusals match the snapshot."""
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    actual = json.loads(_dumps(build_snapshot()))
    assert sorted(actual) == sorted(expected)
    changed = [model for model in expected if actual[model] != expected[model]]
    assert changed == [], changed


if __name__ == "__main__":
    SNAPSHOT.write_text(_dumps(build_snapshot()), encoding="utf-8")
    sys.stdout.write(f"wrote {SNAPSHOT}\n")
