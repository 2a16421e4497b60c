"""``tarash generate video|image``: one generation with a live status line, saved to disk."""

from __future__ import annotations

import enum
import mimetypes
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pydantic
from rich.console import Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.text import Text

from tarash.tarash_gateway._unions import Config, Request, Response
from tarash.tarash_gateway.api import generate_image, generate_video
from tarash.tarash_gateway.cli._output import (
    EXIT_INTERRUPTED,
    CliError,
    fail,
    metadata_table,
    print_json,
    stderr_console,
    stdout_console,
)
from tarash.tarash_gateway.errors import (
    ContentModerationError,
    GenerationFailedError,
    TarashException,
    TimeoutError,
)
from tarash.tarash_gateway.models import (
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageGenerationUpdate,
    ImageType,
    JobHandle,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationResponse,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers import get_provider_class

__all__ = [
    "OPTION_NAMES",
    "GenerateOptions",
    "Kind",
    "StatusLine",
    "file_stem",
    "media_extension",
    "parse_target",
    "response_summary",
    "run_generate",
    "saved_files",
]

OPTION_NAMES = {
    "provider": "--provider",
    "model": "--model",
    "prompt": "--prompt",
    "duration_seconds": "--duration",
    "aspect_ratio": "--aspect-ratio",
    "resolution": "--resolution",
    "image_list": "--image",
    "timeout": "--timeout",
    "fallback_configs": "--fallback",
}
"""Request and config fields -> the option that sets them, for error messages."""


class Kind(enum.StrEnum):
    """What ``tarash generate`` makes."""

    video = "video"
    image = "image"


def parse_target(text: str, option: str = "--fallback") -> tuple[str, str]:
    """``"replicate:google/veo-3"`` -> ``("replicate", "google/veo-3")``.

    The provider ends at the first colon, so a pinned model (``owner/name:version``) keeps
    its own.

    Raises:
        CliError: There is no provider or no model.
    """
    provider, _, model = text.partition(":")
    if not provider.strip() or not model.strip():
        raise CliError(f"{option} {text!r}: write PROVIDER:MODEL, e.g. replicate:google/veo-3")
    return provider.strip(), model.strip()


def _image_input(value: str) -> str | Path:
    if re.match(r"^(https?|data):", value, re.IGNORECASE):
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise CliError(f"--image {value!r}: no such file (give a path or an http(s) URL)")
    return path


class GenerateOptions(pydantic.BaseModel):
    """The options of one ``tarash generate``, as typed on the command line."""

    kind: Kind
    provider: str
    model: str
    prompt: str
    duration: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    image: str | None = None
    fallbacks: list[str] = pydantic.Field(default_factory=list)
    timeout: float | None = None

    def build(self) -> tuple[Config, Request]:
        """The config and request these options describe.

        Raises:
            CliError: An option does not apply to the kind, or names a missing file.
            pydantic.ValidationError: A value is malformed (the error names the field).
        """
        images: list[ImageType] = []
        if self.image is not None:
            given = _image_input(self.image)
            if self.kind is Kind.video:
                images.append({"image": given, "type": "first_frame"})
            else:
                images.append({"image": given, "type": "reference"})
        extra: dict[str, Any] = {} if self.timeout is None else {"timeout": self.timeout}
        targets = [parse_target(text) for text in self.fallbacks]
        if self.kind is Kind.video:
            video_config = VideoGenerationConfig(
                provider=self.provider,
                model=self.model,
                fallback_configs=[
                    VideoGenerationConfig(provider=p, model=m, **extra) for p, m in targets
                ]
                or None,
                **extra,
            )
            video_request = VideoGenerationRequest(
                prompt=self.prompt,
                duration_seconds=self.duration,
                aspect_ratio=self.aspect_ratio,  # pydantic checks it
                resolution=self.resolution,
                image_list=images,
            )
            return video_config, video_request
        for name, value in (("--duration", self.duration), ("--resolution", self.resolution)):
            if value is not None:
                raise CliError(f"{name} applies to videos only")
        image_config = ImageGenerationConfig(
            provider=self.provider,
            model=self.model,
            fallback_configs=[
                ImageGenerationConfig(provider=p, model=m, **extra) for p, m in targets
            ]
            or None,
            **extra,
        )
        image_request = ImageGenerationRequest(
            prompt=self.prompt,
            aspect_ratio=self.aspect_ratio,
            image_list=images,
        )
        return image_config, image_request


class StatusLine:
    """The live line: spinner, provider and model, state, queue position, progress, elapsed.

    :meth:`update` is the ``on_progress`` callback; it runs on tarash's loop thread while
    rich renders on its own, so it only swaps in the latest update (one assignment).
    """

    def __init__(self, provider: str, model: str, *, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._first = (provider, model)
        self._update: VideoGenerationUpdate | ImageGenerationUpdate | None = None
        self._spinner = Spinner("dots")

    def update(self, update: VideoGenerationUpdate | ImageGenerationUpdate) -> None:
        """Record the latest progress update."""
        self._update = update

    def text(self) -> str:
        """The line's text as it stands now."""
        update = self._update
        elapsed = f"{self._clock() - self._started:.1f}s"
        if update is None:
            provider, model = self._first
            return f"{provider} {model} · submitting · {elapsed}"
        parts = [f"{update.provider} {update.model}"]
        if update.attempt_number > 1:
            parts[0] += f" (attempt {update.attempt_number})"
        state: str = update.status
        if update.queue_position is not None and state == "queued":
            state += f" (position {update.queue_position})"
        parts.append(state)
        if update.progress_percent is not None:
            parts.append(f"{update.progress_percent}%")
        parts.append(elapsed)
        return " · ".join(parts)

    def __rich__(self) -> RenderableType:
        self._spinner.update(text=Text(self.text()))
        return self._spinner


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(request_id: str) -> str:
    """A file name stem from a provider's request id (anything odd becomes ``_``)."""
    return _UNSAFE.sub("_", request_id).strip("._") or "result"


def media_extension(media: str | bytes, content_type: str | None, kind: Kind) -> str:
    """The file extension for a result: from its content type, its URL, or the kind."""
    if content_type:
        guessed = mimetypes.guess_extension(content_type.partition(";")[0].strip())
        if guessed:
            return ".jpg" if guessed == ".jpe" else guessed
    if isinstance(media, str) and not media.startswith("data:"):
        suffix = Path(urlsplit(media).path).suffix
        if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", suffix):
            return suffix.lower()
    if isinstance(media, str) and media.startswith("data:"):
        mime = media[5:].partition(";")[0]
        guessed = mimetypes.guess_extension(mime) if mime else None
        if guessed:
            return guessed
    return ".mp4" if kind is Kind.video else ".png"


def saved_files(response: Response, out: Path, stem: str | None = None) -> list[Path]:
    """Save every medium of ``response`` under ``out`` and return the paths.

    Files are named after the request id (``<id>.mp4``; ``<id>-<n>.png`` for several
    images), or ``stem``.

    Raises:
        TarashException: A download or a write failed.
    """
    out.mkdir(parents=True, exist_ok=True)
    name = stem or file_stem(response.request_id)
    if isinstance(response, VideoGenerationResponse):
        video = response.video
        # A MediaContent dict (OpenAI's downloaded content, Veo's inline bytes) names its type.
        media = video if not isinstance(video, dict) else video["content"]
        content_type = response.content_type or (
            video["content_type"] if isinstance(video, dict) else None
        )
        path = out / f"{name}{media_extension(media, content_type, Kind.video)}"
        return [response.save(path)]
    paths = []
    many = len(response.images) > 1
    for index, image in enumerate(response.images):
        numbered = f"{name}-{index}" if many else name
        path = out / f"{numbered}{media_extension(image, response.content_type, Kind.image)}"
        paths.append(response.save(path, index))
    return paths


def _media_reference(media: object) -> str:
    if isinstance(media, str) and re.match(r"^https?://", media):
        return media
    if isinstance(media, str):
        return f"<inline, {len(media)} characters>"
    if isinstance(media, bytes):
        return f"<inline, {len(media)} bytes>"
    if isinstance(media, dict) and isinstance(media.get("content"), bytes):
        return f"<inline, {len(media['content'])} bytes>"
    return "<inline>"


def response_summary(response: Response, files: list[Path]) -> dict[str, Any]:
    """The response as JSON data: its fields, media as references, the saved files."""
    dumped = response.model_dump(
        mode="json", exclude={"raw_response", "video", "images", "execution_metadata"}
    )
    if isinstance(response, VideoGenerationResponse):
        dumped["media"] = [_media_reference(response.video)]
    else:
        dumped["media"] = [_media_reference(image) for image in response.images]
    dumped["files"] = [str(path) for path in files]
    dumped["execution_metadata"] = response.execution_metadata.model_dump(mode="json")
    return dumped


class _JobSeen:
    """The progress callback of a generation: remembers the job it last heard of (to name
    it if the command is interrupted) and passes each update on to the status line."""

    def __init__(self, status: StatusLine | None) -> None:
        self._status = status
        self.job: tuple[str, str] | None = None

    def update(self, update: VideoGenerationUpdate | ImageGenerationUpdate) -> None:
        # One assignment: it runs on tarash's loop thread, read from the main thread.
        self.job = (update.provider or "", update.request_id)
        if self._status is not None:
            self._status.update(update)


def _run(config: Config, request: Request, seen: _JobSeen) -> Response:
    callback = seen.update
    if isinstance(config, VideoGenerationConfig) and isinstance(request, VideoGenerationRequest):
        return generate_video(config, request, on_progress=callback)
    assert isinstance(config, ImageGenerationConfig)
    assert isinstance(request, ImageGenerationRequest)
    return generate_image(config, request, on_progress=callback)


def _may_still_matter(error: BaseException, handle: JobHandle) -> bool:
    """Whether the job behind an error is worth following: not one that failed, nor one
    cancelled at its deadline (a job still running, or a result still to read, is)."""
    if isinstance(error, GenerationFailedError | ContentModerationError):
        return False
    if isinstance(error, TimeoutError):
        return not get_provider_class(handle.provider).supports_cancel
    return True


def _save_handle(handle: JobHandle, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{file_stem(handle.request_id)}.handle.json"
    path.write_text(handle.model_dump_json(indent=2), encoding="utf-8")
    return path


def run_generate(options: GenerateOptions, out: Path, *, as_json: bool) -> None:
    """Run one generation, save its files under ``out`` and report it.

    Raises:
        typer.Exit: With the error's exit code when it failed (see ``_output.EXIT_CODES``).
    """
    try:
        config, request = options.build()
    except (CliError, pydantic.ValidationError, TarashException) as exc:
        fail(exc, as_json=as_json, options=OPTION_NAMES)
    err = stderr_console()
    status = None if as_json else StatusLine(config.provider, config.model)
    seen = _JobSeen(status)
    try:
        if status is None:
            response = _run(config, request, seen)
        else:
            with Live(status, console=err, refresh_per_second=8, transient=True):
                response = _run(config, request, seen)
        files = saved_files(response, out)
    except KeyboardInterrupt:
        # Ctrl-C, or SIGTERM (see _signals): name the job, so that it can be looked up.
        job = seen.job
        which = f"the remote job {job[0]} {job[1]}" if job else "the remote job"
        err.print(
            f"interrupted: {escape(which)} was cancelled (where the provider allows it)",
            soft_wrap=True,
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
    except (CliError, pydantic.ValidationError, TarashException) as exc:
        metadata = getattr(exc, "execution_metadata", None)
        extra: dict[str, Any] = {}
        if metadata is not None:
            extra["execution_metadata"] = metadata.model_dump(mode="json")
        handle = getattr(exc, "job_handle", None)
        if handle is not None and _may_still_matter(exc, handle):
            # A job that may still run (a provider without cancel): keep its handle.
            extra["job_handle"] = handle.model_dump(mode="json")
            if not as_json:
                handle_file = _save_handle(handle, out)
                err.print(
                    f"the job may still run: tarash jobs status {escape(str(handle_file))}",
                    soft_wrap=True,
                )
        tried = metadata is not None and (
            len(metadata.attempts) > 1 or any(a.submit_count for a in metadata.attempts)
        )
        if not as_json and metadata is not None and tried:
            # Only when a provider was reached: a refusal before sending is its one line.
            err.print(metadata_table(metadata))
        fail(exc, as_json=as_json, options=OPTION_NAMES, extra=extra)
    summary = response_summary(response, files)
    if as_json:
        print_json(summary)
        return
    console = stdout_console()
    saved = ", ".join(escape(str(path)) for path in files)
    console.print(
        f"[bold green]done[/] {escape(str(response.provider))} {escape(str(response.model))}"
        f" in {response.execution_metadata.total_elapsed_seconds:.1f}s: {saved}"
    )
    details = [
        f"{name}: {summary[name]}"
        for name in ("request_id", "duration", "resolution", "aspect_ratio", "revised_prompt")
        if summary.get(name) is not None
    ]
    if details:
        console.print(Text("  " + " · ".join(details)))
    console.print(Group(metadata_table(response.execution_metadata)))
