"""Run the official fal, Replicate, OpenAI, Runway and Google SDKs against an in-process
emulator (the OpenAI SDK also against the emulated xAI's OpenAI-compatible images API).

Not collected by pytest (the name does not start with ``test_``), and the SDKs are never
project dependencies. Run it from a throwaway venv that has them:

    python3 -m venv /tmp/sdkvenv
    /tmp/sdkvenv/bin/pip install fal-client replicate openai runwayml
    /tmp/sdkvenv/bin/pip install httpx starlette uvicorn anyio trustme
    /tmp/sdkvenv/bin/pip install -e /work/main   # or put /work/main on sys.path
    /tmp/sdkvenv/bin/python tests/emulator/sdk_compat_check.py [fal] [replicate] [openai] \
        [runway] [xai]

google-genai has two lines that cannot share a venv: the ``google`` checks (the Gemini
API's ``models.generate_videos`` + ``operations.get`` + ``files.download``, and
``models.generate_content`` for a Gemini image model) need 2.x, since 3.x refuses Veo on
the Gemini API; the ``google-vertex`` checks (express mode with an API key, and a project
with an access token through google-auth's ``Credentials``) run on either:

    python3 -m venv /tmp/genai2 && /tmp/genai2/bin/pip install google-genai==2.34.0
    /tmp/genai2/bin/python tests/emulator/sdk_compat_check.py google google-vertex
    python3 -m venv /tmp/genai3 && /tmp/genai3/bin/pip install "google-genai>=3"
    /tmp/genai3/bin/python tests/emulator/sdk_compat_check.py google-vertex

The clients get ``http_options=HttpOptions(base_url=emu.url + "/google")`` (the SDK appends
its version); the emulator names Gemini file URIs on Google's host
(``GoogleOptions(file_uri_base=...)``), as ``files.download`` requires.

Naming SDKs runs only their checks (a venv may hold just one SDK); with no names, all run.
The ``openai`` checks use both clients: ``OpenAI(base_url=emu.base_url("openai"))`` and
``AzureOpenAI(base_url=<endpoint>/openai/v1, api_version=...)`` for ``videos.create`` +
``videos.poll`` + ``download_content``, and ``images.generate`` on each (Azure's through
``azure_endpoint=``, which puts the deployment in the path as the SDK does).

The SDKs are configured exactly as the provider notes (sdk-compat.md) say: fal-client's
``QUEUE_URL_FORMAT`` patched to the emulator base plus ``/`` and ``FAL_KEY`` in the
environment; ``replicate.Client(api_token=..., base_url=...)``. ``replicate.run()`` is
checked twice: with ``data:`` outputs over http, and with https output URLs from
``Emulator(tls=True)`` trusted through ``SSL_CERT_FILE`` (what makes its ``FileOutput``
work against real Replicate). Exit status 0 means every check passed.
"""

from __future__ import annotations

import base64
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

try:
    import fal_client
    import fal_client.client
except ImportError:  # a venv for the other SDKs only
    fal_client = None
try:
    import replicate
    from replicate.helpers import FileOutput
except ImportError:
    replicate = None
try:
    import openai
except ImportError:
    openai = None
try:
    import runwayml
except ImportError:
    runwayml = None
try:
    from google import genai
    from google.genai import types as genai_types
except ImportError:
    genai = None

from tarash.emulator import Emulator, Fault, GoogleOptions, Latency, ReplicateOptions
from tarash.tarash_gateway.media import sniff_mime

VERSION = "0123456789abcdef" * 4

Check = Callable[[Emulator], str]


def fal_submit_and_result(emu: Emulator) -> str:
    handle = fal_client.submit("fal-ai/veo3", arguments={"prompt": "a cat", "duration": "8s"})
    result: dict[str, Any] = handle.get()
    assert result["video"]["content_type"] == "video/mp4", result
    return f"request {handle.request_id}: video {result['video']['file_size']} bytes"


def fal_subscribe_with_logs(emu: Emulator) -> str:
    updates: list[str] = []
    messages: list[str] = []

    def on_queue_update(update: fal_client.Status) -> None:
        updates.append(type(update).__name__)
        if isinstance(update, fal_client.InProgress):
            messages.extend(log["message"] for log in update.logs or [])

    result: dict[str, Any] = fal_client.subscribe(
        "fal-ai/flux/dev",
        arguments={"prompt": "a fox", "num_images": 2},
        with_logs=True,
        on_queue_update=on_queue_update,
    )
    assert len(result["images"]) == 2, result
    assert "InProgress" in updates, updates
    assert messages, "no logs reached on_queue_update"
    kinds = sorted(set(updates))
    return f"{len(result['images'])} images; updates {kinds}; first log {messages[0]!r}"


def fal_status(emu: Emulator) -> str:
    handle = fal_client.submit("fal-ai/flux/dev", arguments={"prompt": "x"})
    first = fal_client.status("fal-ai/flux/dev", handle.request_id, with_logs=True)
    handle.get()
    last = fal_client.status("fal-ai/flux/dev", handle.request_id, with_logs=True)
    assert isinstance(last, fal_client.Completed), last
    return f"{type(first).__name__} -> {type(last).__name__} (metrics {last.metrics})"


def fal_cancel(emu: Emulator) -> str:
    emu.latency = Latency(queue_seconds=5, run_seconds=5)
    try:
        handle = fal_client.submit("fal-ai/veo3", arguments={"prompt": "x"})
        fal_client.cancel("fal-ai/veo3", handle.request_id)
        status = handle.status()
    finally:
        emu.latency = Latency(queue_seconds=0.05, run_seconds=0.2)
    assert isinstance(status, fal_client.Completed), status
    job = next(job for job in emu.jobs("fal") if job.id == handle.request_id)
    assert job.state == "cancelled", job
    return f"cancelled; status now {type(status).__name__}, emulator state {job.state}"


def fal_subscribe_client_timeout_cancels(emu: Emulator) -> str:
    emu.inject(Fault("stuck", provider="fal"))
    before = emu.stats("fal").cancelled
    try:
        fal_client.subscribe(
            "fal-ai/veo3", arguments={"prompt": "x"}, client_timeout=1.5
        )  # the SDK requires > 1 s
    except Exception as exc:  # the SDK's timeout error type varies by version
        error = type(exc).__name__
    else:
        raise AssertionError("subscribe returned although the job was stuck")
    stats = emu.stats("fal")
    assert stats.cancelled == before + 1, stats
    assert stats.running == 0, stats
    return f"raised {error}; remote job cancelled (running={stats.running})"


def replicate_create_model_and_wait(emu: Emulator) -> str:
    client = replicate.Client(
        api_token=emu.api_key("replicate"), base_url=emu.base_url("replicate")
    )
    prediction = client.predictions.create(model="google/veo-3", input={"prompt": "a cat"})
    prediction.wait()
    assert prediction.status == "succeeded", prediction
    assert prediction.output.startswith(emu.url + "/media/"), prediction.output
    progress = prediction.progress
    return f"{prediction.id} {prediction.status}; progress {progress}; output {prediction.output}"


def replicate_create_version(emu: Emulator) -> str:
    client = replicate.Client(
        api_token=emu.api_key("replicate"), base_url=emu.base_url("replicate")
    )
    prediction = client.predictions.create(version=VERSION, input={"prompt": "x"})
    prediction.wait()
    assert prediction.status == "succeeded", prediction
    return f"{prediction.id} version {prediction.version[:12]}... {prediction.status}"


def _run_outputs(emu: Emulator) -> tuple[Any, Any]:
    client = replicate.Client(
        api_token=emu.api_key("replicate"), base_url=emu.base_url("replicate")
    )
    video = client.run("google/veo-3", input={"prompt": "a cat"})
    images = client.run("black-forest-labs/flux-schnell", input={"prompt": "a fox"})
    return video, images


def replicate_run(emu: Emulator) -> str:
    options = [ReplicateOptions(output="data_uri")]
    with Emulator(latency=Latency(0.05, 0.2), options=options) as data_emu:
        video, images = _run_outputs(data_emu)
    return _check_file_outputs(video, images)


def replicate_run_over_tls(emu: Emulator) -> str:
    before = os.environ.get("SSL_CERT_FILE")
    with Emulator(latency=Latency(0.05, 0.2), tls=True) as tls_emu:
        os.environ["SSL_CERT_FILE"] = str(tls_emu.ca_path)  # httpx reads it per client
        try:
            video, images = _run_outputs(tls_emu)
            assert str(video.url).startswith(tls_emu.url + "/media/"), video.url
            detail = _check_file_outputs(video, images)  # read() downloads over https
        finally:
            if before is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = before
    return f"https outputs; {detail}"


def _check_file_outputs(video: Any, images: Any) -> str:
    assert isinstance(video, FileOutput), type(video)
    data = video.read()
    assert data[4:8] == b"ftyp", data[:16]
    assert isinstance(images, list), images
    assert all(isinstance(image, FileOutput) for image in images), images
    png = images[0].read()
    assert png.startswith(b"\x89PNG"), png[:8]
    return f"video FileOutput {len(data)} bytes; {len(images)} image FileOutput(s) {len(png)} bytes"


def replicate_cancel(emu: Emulator) -> str:
    emu.latency = Latency(queue_seconds=5, run_seconds=5)
    try:
        client = replicate.Client(
            api_token=emu.api_key("replicate"), base_url=emu.base_url("replicate")
        )
        prediction = client.predictions.create(model="google/veo-3", input={"prompt": "x"})
        cancelled = client.predictions.cancel(prediction.id)
    finally:
        emu.latency = Latency(queue_seconds=0.05, run_seconds=0.2)
    assert cancelled.status == "canceled", cancelled
    return f"{cancelled.id} {cancelled.status}"


def _video_flow(client: Any, model: str, emu: Emulator, provider: str) -> str:
    """videos.create (multipart) + videos.poll (honouring openai-poll-after-ms) +
    download_content, as the SDK's README does."""
    created = client.videos.create(model=model, prompt="a cat playing piano", seconds="8")
    assert created.status == "queued", created
    video = client.videos.poll(created.id)
    assert video.status == "completed", video
    assert video.progress == 100 and video.seconds == "8", video
    content = client.videos.download_content(video.id)
    data = content.read()
    assert data[4:8] == b"ftyp", data[:16]
    job = next(job for job in emu.jobs(provider) if job.id == video.id)
    assert "multipart/form-data" in job.headers["content-type"], job.headers
    return f"{video.id[:18]}... {video.status} {video.size}; content {len(data)} bytes MP4"


def _image_flow(client: Any, model: str) -> str:
    result = client.images.generate(model=model, prompt="a fox", n=2, size="1024x1024")
    images = [base64.b64decode(item.b64_json) for item in result.data]
    assert all(image.startswith(b"\x89PNG") for image in images), [i[:8] for i in images]
    return f"{len(images)} b64 PNGs ({len(images[0])} bytes each), created {result.created}"


def openai_videos(emu: Emulator) -> str:
    client = openai.OpenAI(api_key=emu.api_key("openai"), base_url=emu.base_url("openai"))
    return _video_flow(client, "sora-2", emu, "openai")


def openai_images_generate(emu: Emulator) -> str:
    client = openai.OpenAI(api_key=emu.api_key("openai"), base_url=emu.base_url("openai"))
    return _image_flow(client, "gpt-image-1")


def openai_refusal_is_an_api_error(emu: Emulator) -> str:
    client = openai.OpenAI(
        api_key=emu.api_key("openai"), base_url=emu.base_url("openai"), max_retries=0
    )
    emu.inject(Fault("content_refusal", provider="openai"))
    try:
        client.images.generate(model="gpt-image-1", prompt="x")
    except openai.BadRequestError as exc:
        refused = exc
    else:
        raise AssertionError("a refused image was returned")
    assert refused.code == "moderation_blocked", refused.code
    return f"BadRequestError code={refused.code}: {refused}"


def xai_images_generate(emu: Emulator) -> str:
    # xAI's images API is OpenAI-compatible for generation: the OpenAI SDK pointed at
    # https://api.x.ai/v1 (here the emulator's /xai/v1) with an xAI key.
    client = openai.OpenAI(api_key=emu.api_key("xai"), base_url=emu.base_url("xai"))
    result = client.images.generate(model="grok-imagine-image", prompt="a fox", n=2)
    urls = [item.url for item in result.data]
    assert all(url and url.startswith(emu.url) for url in urls), urls
    encoded = client.images.generate(
        model="grok-imagine-image", prompt="a fox", response_format="b64_json"
    )
    image = base64.b64decode(encoded.data[0].b64_json or "")
    assert image.startswith(b"\x89PNG"), image[:8]
    return f"{len(urls)} URLs, then a b64 PNG ({len(image)} bytes)"


def xai_refusal_is_an_api_error(emu: Emulator) -> str:
    client = openai.OpenAI(api_key=emu.api_key("xai"), base_url=emu.base_url("xai"), max_retries=0)
    emu.inject(Fault("content_refusal", provider="xai"))
    try:
        client.images.generate(model="grok-imagine-image", prompt="x")
    except openai.BadRequestError as exc:
        refused = exc
    else:
        raise AssertionError("a refused image was returned")
    # xAI's body is {"code", "error": <text>}: the SDK keeps the "error" value as exc.body
    # and, finding no error.message in it, says only "Error code: 400".
    assert isinstance(refused.body, str) and "moderation" in refused.body, refused.body
    return f"BadRequestError {refused.status_code}: {refused.body}"


def azure_v1_videos(emu: Emulator) -> str:
    client = openai.AzureOpenAI(
        api_key=emu.api_key("azure_openai"),
        base_url=f"{emu.base_url('azure_openai')}/openai/v1",
        api_version="preview",
    )
    return _video_flow(client, "my-sora-deployment", emu, "azure_openai")


def azure_images_generate(emu: Emulator) -> str:
    client = openai.AzureOpenAI(
        api_key=emu.api_key("azure_openai"),
        azure_endpoint=emu.base_url("azure_openai"),
        api_version="2025-04-01-preview",
    )
    detail = _image_flow(client, "my-image-deployment")
    job = emu.jobs("azure_openai")[-1]
    assert job.model == "my-image-deployment", job
    return f"deployment path; {detail}"


def openai_client_on_azure_v1(emu: Emulator) -> str:
    # Microsoft's v1 docs: the plain OpenAI client at {endpoint}/openai/v1/ with the Azure
    # key (sent as Authorization: Bearer).
    client = openai.OpenAI(
        api_key=emu.api_key("azure_openai"), base_url=f"{emu.base_url('azure_openai')}/openai/v1/"
    )
    return _video_flow(client, "my-sora-deployment", emu, "azure_openai")


def _runway(emu: Emulator) -> Any:
    return runwayml.RunwayML(api_key=emu.api_key("runway"), base_url=emu.base_url("runway"))


def runway_image_to_video_wait(emu: Emulator) -> str:
    """``image_to_video.create(...).wait_for_task_output()`` (it sleeps ~6 s a poll)."""
    frame = "data:image/png;base64," + base64.b64encode(_PNG_1X1).decode()
    task = (
        _runway(emu)
        .image_to_video.create(
            model="gen4_turbo",
            prompt_image=frame,
            prompt_text="a cat",
            ratio="1280:720",
            duration=5,
        )
        .wait_for_task_output()
    )
    assert task.status == "SUCCEEDED" and task.output, task
    return f"{task.status} {task.output[0].rsplit('/', 1)[-1]}"


def runway_tasks_delete(emu: Emulator) -> str:
    """``tasks.delete`` cancels a running task (the emulator counts it cancelled)."""
    client = _runway(emu)
    before = emu.stats("runway").cancelled
    emu.inject(Fault("stuck", provider="runway"))
    created = client.text_to_video.create(
        model="gen4.5", prompt_text="a cat", ratio="1280:720", duration=5
    )
    client.tasks.delete(created.id)
    assert emu.stats("runway").cancelled == before + 1
    status = client.tasks.retrieve(created.id).status
    assert status == "CANCELLED", status
    return f"deleted {created.id}: {status}"


def _genai(emu: Emulator, **kwargs: Any) -> Any:
    options = genai_types.HttpOptions(base_url=f"{emu.url}/google")
    return genai.Client(http_options=options, **kwargs)


def _wait_operation(client: Any, operation: Any) -> Any:
    deadline = time.monotonic() + 20
    while not operation.done:
        assert time.monotonic() < deadline, "the operation did not finish"
        time.sleep(0.1)
        operation = client.operations.get(operation)
    return operation


def _videos_flow(client: Any, model: str) -> Any:
    config = genai_types.GenerateVideosConfig(duration_seconds=8, aspect_ratio="16:9")
    operation = client.models.generate_videos(model=model, prompt="a cat", config=config)
    operation = _wait_operation(client, operation)
    assert operation.error is None, operation.error
    return operation.response.generated_videos[0].video


def google_generate_videos_download(emu: Emulator) -> str:
    """Gemini API: generate_videos, operations.get until done, files.download (2.x)."""
    client = _genai(emu, api_key=emu.api_key("google"))
    video = _videos_flow(client, "veo-3.1-generate-preview")
    data = client.files.download(file=video)
    assert sniff_mime(data) == "video/mp4", data[:16]
    return f"{video.uri} -> {len(data)} bytes of MP4"


def google_rai_filtered(emu: Emulator) -> str:
    """Gemini API: an RAI-filtered operation parses as done with raiMediaFilteredCount."""
    client = _genai(emu, api_key=emu.api_key("google"))
    emu.inject(Fault("content_refusal", provider="google"))
    config = genai_types.GenerateVideosConfig(duration_seconds=8)
    try:
        operation = client.models.generate_videos(
            model="veo-3.1-generate-preview", prompt="a person", config=config
        )
    finally:  # 3.x refuses before sending: the fault must not hit the next check's job
        emu.clear_faults()
    response = _wait_operation(client, operation).response
    assert response.rai_media_filtered_count == 1, response
    assert not response.generated_videos
    return f"filtered: {response.rai_media_filtered_reasons[0][:40]}..."


def google_generate_content_image(emu: Emulator) -> str:
    """Gemini API: generate_content on a Gemini image model returns an inline PNG."""
    client = _genai(emu, api_key=emu.api_key("google"))
    response = client.models.generate_content(model="gemini-3.1-flash-image", contents="a fox")
    images = [
        part.inline_data.data for part in response.candidates[0].content.parts if part.inline_data
    ]
    assert images and sniff_mime(images[0]) == "image/png"
    return f"{len(images)} inline image(s), {len(images[0])} bytes"


def google_vertex_express_videos(emu: Emulator) -> str:
    """Vertex express mode (API key, no project): generate_videos + operations.get, the
    video inline (video_bytes)."""
    client = _genai(emu, vertexai=True, api_key=emu.api_key("google"))
    video = _videos_flow(client, "veo-3.1-generate-001")
    assert sniff_mime(video.video_bytes) == "video/mp4"
    return f"{len(video.video_bytes)} bytes inline"


def google_vertex_token_videos(emu: Emulator) -> str:
    """Vertex with a project and an access token (google-auth Credentials): the regional
    path, Bearer auth, the same flow."""
    from google.oauth2.credentials import Credentials

    client = _genai(
        emu,
        vertexai=True,
        project="my-project",
        location="us-central1",
        credentials=Credentials(token=emu.api_key("google")),
    )
    video = _videos_flow(client, "veo-3.1-generate-001")
    assert sniff_mime(video.video_bytes) == "video/mp4"
    return f"{len(video.video_bytes)} bytes inline"


def google_vertex_express_image(emu: Emulator) -> str:
    """Vertex express mode: generate_content on a Gemini image model."""
    client = _genai(emu, vertexai=True, api_key=emu.api_key("google"))
    response = client.models.generate_content(model="gemini-3.1-flash-image", contents="a fox")
    images = [
        part.inline_data.data for part in response.candidates[0].content.parts if part.inline_data
    ]
    assert images and sniff_mime(images[0]) == "image/png"
    return f"{len(images)} inline image(s)"


_PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


GROUPS: dict[str, list[Check]] = {
    "fal": [
        fal_submit_and_result,
        fal_subscribe_with_logs,
        fal_status,
        fal_cancel,
        fal_subscribe_client_timeout_cancels,
    ],
    "replicate": [
        replicate_create_model_and_wait,
        replicate_create_version,
        replicate_run,
        replicate_run_over_tls,
        replicate_cancel,
    ],
    "openai": [
        openai_videos,
        openai_images_generate,
        openai_refusal_is_an_api_error,
        azure_v1_videos,
        azure_images_generate,
        openai_client_on_azure_v1,
    ],
    "xai": [xai_images_generate, xai_refusal_is_an_api_error],
    "runway": [runway_image_to_video_wait, runway_tasks_delete],
    "google": [google_generate_videos_download, google_rai_filtered, google_generate_content_image],
    "google-vertex": [
        google_vertex_express_videos,
        google_vertex_token_videos,
        google_vertex_express_image,
    ],
}
_MODULES = {
    "fal": fal_client,
    "replicate": replicate,
    "openai": openai,
    "xai": openai,
    "runway": runwayml,
    "google": genai,
    "google-vertex": genai,
}
CHECKS: list[Check] = [check for checks in GROUPS.values() for check in checks]


def main(names: list[str] | None = None) -> int:
    """Run the named SDKs' checks (all by default); print one line each; return the
    number of failures (an SDK asked for but not installed counts as one)."""
    wanted = names or list(GROUPS)
    unknown = sorted(set(wanted) - set(GROUPS))
    if unknown:
        print(f"unknown SDK(s) {unknown}; choose from {sorted(GROUPS)}")
        return 1
    missing = [name for name in wanted if _MODULES[name] is None]
    failures = len(missing)
    for name in missing:
        print(f"FAIL {name}: the SDK is not installed in this venv")
    checks = [check for name in wanted if name not in missing for check in GROUPS[name]]
    # google-genai's files.download keeps only a file URI's files/<id> (on Google's host).
    google = GoogleOptions(file_uri_base="https://generativelanguage.googleapis.com")
    latency = Latency(queue_seconds=0.05, run_seconds=0.2)
    with Emulator(latency=latency, options=[google]) as emu:
        if fal_client is not None:
            fal_client.client.QUEUE_URL_FORMAT = emu.base_url("fal") + "/"
            os.environ["FAL_KEY"] = emu.api_key("fal")
        versions = ", ".join(
            f"{name} {_version(name)}"
            for name, module in (
                ("fal_client", fal_client),
                ("replicate", replicate),
                ("openai", openai),
                ("runwayml", runwayml),
                ("google-genai", genai),
            )
            if module is not None
        )
        print(f"emulator at {emu.url}; {versions}")
        for check in checks:
            try:
                detail = check(emu)
            except Exception:
                failures += 1
                print(f"FAIL {check.__name__}")
                traceback.print_exc()
            else:
                print(f"ok   {check.__name__}: {detail}")
        print(
            "emulator stats: "
            + "; ".join(
                f"{name} {emu.stats(name)}"
                for name in (
                    "fal",
                    "replicate",
                    "openai",
                    "azure_openai",
                    "runway",
                    "google",
                    "xai",
                )
            )
        )
    print("all SDK checks passed" if not failures else f"{failures} SDK check(s) failed")
    return failures


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package.replace("_", "-"))


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1:]) else 0)
