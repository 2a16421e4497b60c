"""The README demo: a video and an image through the bundled emulator, no key, no network.

Run ``python -m tarash.demo``. It starts the emulator on a free loopback port, generates a
video on fal.ai's Veo 3 (with Replicate's Veo 3 as fallback) and a FLUX image, saves both
files under ``./out`` and prints each response with its execution metadata.
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

        print("\nGenerating an image (fal-ai/flux/dev)...")
        image = generate_image(
            ImageGenerationConfig(
                provider="fal",
                model="fal-ai/flux/dev",
                base_url=emu.base_url("fal"),
                api_key=emu.api_key("fal"),
            ),
            ImageGenerationRequest(prompt="A watercolor fox", aspect_ratio="16:9"),
        )
        image_path = image.save(args.out / "fox.png")
        print(f"image saved to {image_path} ({image_path.stat().st_size} bytes)")
        print(json.dumps(image.model_dump(mode="json", exclude={"raw_response"}), indent=2))
        print(f"\nemulator job counts: {emu.stats()}")


if __name__ == "__main__":
    main()
