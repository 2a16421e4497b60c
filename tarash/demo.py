"""The README demo: a video and an image through the bundled emulator, no key, no network.

Run ``python -m tarash.demo``. It starts the emulator on a free loopback port, generates a
video on fal.ai's Veo 3 (with Replicate's Veo 3 as fallback), then the same image request
on fal (FLUX), OpenAI (gpt-image-1) and Stability (Stable Image Core), saves the files under
``./out`` and prints each response with its execution metadata.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tarash.emulator import Emulator, Fault, Latency
from tarash.tarash_gateway import generate_image, generate_video
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationUpdate,
)

__all__ = ["main"]


def _print_update(update: VideoGenerationUpdate) -> None:
    percent = f" {update.progress_percent}%" if update.progress_percent is not None else ""
    print(f"  [{update.provider} attempt {update.attempt_number}] {update.status}{percent}")


def main(argv: list[str] | None = None) -> None:
    """Run the demo.

    Args:
        argv: Command-line arguments (``--out DIR``, ``--fail-fal``).
    """
    parser = argparse.ArgumentParser(prog="python -m tarash.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"), help="where files are saved")
    parser.add_argument(
        "--fail-fal",
        action="store_true",
        help="make the emulated fal job fail, to show the fallback to Replicate",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    with Emulator(latency=Latency(queue_seconds=0.3, run_seconds=1.2)) as emu:
        if args.fail_fal:
            emu.inject(Fault("job_failure", provider="fal"))
        request = VideoGenerationRequest(
            prompt="A cat playing piano, cinematic lighting",
            duration_seconds=5,
            aspect_ratio="16:9",
        )
        config = VideoGenerationConfig(
            provider="fal",
            model="fal-ai/veo3",
            base_url=emu.base_url("fal"),
            api_key=emu.api_key("fal"),
            timeout=60,
            fallback_configs=[
                VideoGenerationConfig(
                    provider="replicate",
                    model="google/veo-3",
                    base_url=emu.base_url("replicate"),
                    api_key=emu.api_key("replicate"),
                    timeout=60,
                )
            ],
        )
        print("Generating a video (fal-ai/veo3, fallback replicate google/veo-3)...")
        video = generate_video(config, request, on_progress=_print_update)
        video_path = video.save(args.out / "cat.mp4")
        print(f"video saved to {video_path} ({video_path.stat().st_size} bytes)")
        print(json.dumps(video.model_dump(mode="json", exclude={"raw_response"}), indent=2))

        # The same image request on three providers: only provider and model change.
        image_request = ImageGenerationRequest(prompt="A watercolor fox", aspect_ratio="16:9")
        for number, (provider, model) in enumerate(
            [
                ("fal", "fal-ai/flux/dev"),
                ("openai", "gpt-image-1"),
                ("stability", "stable-image-core"),
            ]
        ):
            print(f"\nGenerating an image ({provider} {model})...")
            image = generate_image(
                ImageGenerationConfig(
                    provider=provider,
                    model=model,
                    base_url=emu.base_url(provider),
                    api_key=emu.api_key(provider),
                ),
                image_request,
            )
            image_path = image.save(args.out / f"fox-{provider}.png")
            print(f"image saved to {image_path} ({image_path.stat().st_size} bytes)")
            if number == 0:
                dumped = image.model_dump(mode="json", exclude={"raw_response"})
                print(json.dumps(dumped, indent=2))
            else:
                attempt = image.execution_metadata.attempts[0]
                print(
                    f"  {attempt.provider}/{attempt.model}: {attempt.status} in "
                    f"{attempt.elapsed_seconds:.2f} s, {attempt.http_requests} HTTP request(s), "
                    f"adaptations: {attempt.adaptations or 'none'}"
                )
        print(f"\nemulator job counts: {emu.stats()}")


if __name__ == "__main__":
    main()
