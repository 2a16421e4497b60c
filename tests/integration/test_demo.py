"""The README's first command: the demo runs through the emulator and saves both files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tarash.demo import main
from tarash.tarash_gateway.media import sniff_mime

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("fail_fal", [False, True])
def test_demo_saves_a_video_and_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fail_fal: bool
) -> None:
    """The demo prints metadata and saves a valid MP4 and three PNGs; --fail-fal shows the
    fallback."""
    main(["--out", str(tmp_path), *(["--fail-fal"] if fail_fal else [])])
    assert sniff_mime((tmp_path / "cat.mp4").read_bytes()) == "video/mp4"
    for provider in ("fal", "openai", "stability"):  # the same image request on three providers
        assert sniff_mime((tmp_path / f"fox-{provider}.png").read_bytes()) == "image/png"
    printed = capsys.readouterr().out
    assert '"execution_metadata"' in printed
    assert ('"fallback_triggered": true' in printed) is fail_fal
    assert "running=0" in printed
