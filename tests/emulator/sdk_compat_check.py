"""Run the official fal and Replicate SDKs against an in-process emulator.

Not collected by pytest (the name does not start with ``test_``), and the SDKs are never
project dependencies. Run it from a throwaway venv that has them:

    python3 -m venv /tmp/sdkvenv
    /tmp/sdkvenv/bin/pip install fal-client replicate httpx starlette uvicorn anyio trustme
    /tmp/sdkvenv/bin/pip install -e /work/main   # or put /work/main on sys.path
    /tmp/sdkvenv/bin/python tests/emulator/sdk_compat_check.py

The SDKs are configured exactly as the provider notes (sdk-compat.md) say: fal-client's
``QUEUE_URL_FORMAT`` patched to the emulator base plus ``/`` and ``FAL_KEY`` in the
environment; ``replicate.Client(api_token=..., base_url=...)``. ``replicate.run()`` is
checked twice: with ``data:`` outputs over http, and with https output URLs from
``Emulator(tls=True)`` trusted through ``SSL_CERT_FILE`` (what makes its ``FileOutput``
work against real Replicate). Exit status 0 means every check passed.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import fal_client
import fal_client.client
import replicate
from replicate.helpers import FileOutput

from tarash.emulator import Emulator, Fault, Latency, ReplicateOptions

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


CHECKS: list[Check] = [
    fal_submit_and_result,
    fal_subscribe_with_logs,
    fal_status,
    fal_cancel,
    fal_subscribe_client_timeout_cancels,
    replicate_create_model_and_wait,
    replicate_create_version,
    replicate_run,
    replicate_run_over_tls,
    replicate_cancel,
]


def main() -> int:
    """Run every check; print one line each; return the number of failures."""
    failures = 0
    with Emulator(latency=Latency(queue_seconds=0.05, run_seconds=0.2)) as emu:
        fal_client.client.QUEUE_URL_FORMAT = emu.base_url("fal") + "/"
        os.environ["FAL_KEY"] = emu.api_key("fal")
        print(
            f"emulator at {emu.url}; "
            f"fal-client {_version('fal_client')}, replicate {_version('replicate')}"
        )
        for check in CHECKS:
            try:
                detail = check(emu)
            except Exception:
                failures += 1
                print(f"FAIL {check.__name__}")
                traceback.print_exc()
            else:
                print(f"ok   {check.__name__}: {detail}")
        print(f"emulator stats: fal {emu.stats('fal')}; replicate {emu.stats('replicate')}")
    print("all SDK checks passed" if not failures else f"{failures} SDK check(s) failed")
    return failures


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package.replace("_", "-"))


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
