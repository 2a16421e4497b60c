"""fal queue protocol: submit, status, SSE, result, cancel, timeouts, auth."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tarash.emulator import Emulator, Fault, Latency

from ._calls import fal_auth, fal_submit, fal_wait


def test_submit_returns_queue_urls_on_owner_alias(emu: Emulator, client: httpx.Client) -> None:
    """Submit answers IN_QUEUE with absolute URLs that drop the model sub-path."""
    body = {"prompt": "a cat", "image_url": "https://example.com/cat.png"}
    model = "fal-ai/kling-video/v2.1/standard/image-to-video"
    response = fal_submit(client, emu, model, body)
    assert response.status_code == 200
    body = response.json()
    request_id = body["request_id"]
    assert response.headers["x-fal-request-id"] == request_id
    base = f"{emu.base_url('fal')}/fal-ai/kling-video/requests/{request_id}"
    assert body == {
        "status": "IN_QUEUE",
        "request_id": request_id,
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
        "queue_position": body["queue_position"],
    }


def test_workflow_namespace_keeps_three_segments(emu: Emulator, client: httpx.Client) -> None:
    """workflows/owner/name/sub keeps workflows/owner/name in its queue URLs."""
    body = fal_submit(client, emu, "workflows/me/flow/extra").json()
    assert "/fal/workflows/me/flow/requests/" in body["status_url"]


def test_status_walks_queue_progress_completed(emu: Emulator, client: httpx.Client) -> None:
    """Status goes IN_QUEUE (with queue_position) -> IN_PROGRESS -> COMPLETED (with metrics)."""
    emu.latency = Latency(queue_seconds=0.3, run_seconds=0.3)
    submitted = fal_submit(client, emu).json()
    first = client.get(submitted["status_url"], headers=fal_auth(emu)).json()
    assert first["status"] == "IN_QUEUE"
    assert first["queue_position"] >= 0
    assert first["logs"] is None
    time.sleep(0.4)
    running = client.get(
        submitted["status_url"], params={"logs": "1"}, headers=fal_auth(emu)
    ).json()
    assert running["status"] == "IN_PROGRESS"
    assert running["logs"][0]["message"].startswith("Starting generation")
    assert set(running["logs"][0]) == {"message", "level", "source", "timestamp"}
    done = fal_wait(client, emu, submitted["status_url"])
    assert done["metrics"]["inference_time"] == pytest.approx(0.3, abs=0.05)
    assert "error" not in done


@pytest.mark.parametrize(
    ("value", "has_logs"), [("0", False), ("1", True), ("true", True), ("false", False)]
)
def test_logs_key_always_present(
    emu: Emulator, client: httpx.Client, value: str, has_logs: bool
) -> None:
    """``logs`` is always in the status body: a list with logs=1/true, else null."""
    submitted = fal_submit(client, emu).json()
    body = fal_wait(client, emu, submitted["status_url"])
    body = client.get(submitted["status_url"], params={"logs": value}, headers=fal_auth(emu)).json()
    assert "logs" in body
    assert isinstance(body["logs"], list) is has_logs


def test_result_before_completion_is_400(emu: Emulator, client: httpx.Client) -> None:
    """Fetching the result early is a 400 "still in progress"."""
    emu.latency = Latency(queue_seconds=5, run_seconds=5)
    submitted = fal_submit(client, emu).json()
    response = client.get(submitted["response_url"], headers=fal_auth(emu))
    assert response.status_code == 400
    assert response.json() == {"detail": "Request is still in progress"}
    client.put(submitted["cancel_url"], headers=fal_auth(emu))


def test_video_result_is_a_file_object_with_a_served_mp4(
    emu: Emulator, client: httpx.Client
) -> None:
    """veo3 results are ``{"video": {url, content_type, file_name, file_size}}`` (served MP4)."""
    submitted = fal_submit(client, emu, "fal-ai/veo3").json()
    fal_wait(client, emu, submitted["status_url"])
    video = client.get(submitted["response_url"], headers=fal_auth(emu)).json()["video"]
    assert video["content_type"] == "video/mp4"
    assert video["url"].startswith(emu.url + "/media/")
    media = client.get(video["url"])
    assert media.headers["content-type"] == "video/mp4"
    assert media.content[4:8] == b"ftyp"
    assert len(media.content) == video["file_size"]


def test_image_result_lists_images_of_requested_size(emu: Emulator, client: httpx.Client) -> None:
    """flux results list ``num_images`` PNGs at ``image_size`` with seed and nsfw flags."""
    body = {
        "prompt": "a fox",
        "num_images": 2,
        "image_size": {"width": 320, "height": 200},
        "seed": 7,
    }
    submitted = fal_submit(client, emu, "fal-ai/flux/dev", body).json()
    fal_wait(client, emu, submitted["status_url"])
    result = client.get(submitted["response_url"], headers=fal_auth(emu)).json()
    assert result["seed"] == 7
    assert result["prompt"] == "a fox"
    assert result["has_nsfw_concepts"] == [False, False]
    assert [(i["width"], i["height"]) for i in result["images"]] == [(320, 200)] * 2
    png = client.get(result["images"][0]["url"])
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_sse_stream_emits_each_state_then_ends(emu: Emulator, client: httpx.Client) -> None:
    """The status stream sends one ``data:`` event per state and closes after COMPLETED."""
    submitted = fal_submit(client, emu).json()
    with client.stream("GET", submitted["status_url"] + "/stream", headers=fal_auth(emu)) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert [event["status"] for event in events] == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]


def test_cancel_in_queue_then_already_completed(fresh_emu: Emulator, client: httpx.Client) -> None:
    """Cancel answers 202, the job reads COMPLETED + request_cancelled, a second cancel is 400."""
    fresh_emu.latency = Latency(queue_seconds=5, run_seconds=5)
    submitted = fal_submit(client, fresh_emu).json()
    cancel = client.put(submitted["cancel_url"], headers=fal_auth(fresh_emu))
    assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    status = client.get(submitted["status_url"], headers=fal_auth(fresh_emu)).json()
    assert (status["status"], status["error_type"]) == ("COMPLETED", "request_cancelled")
    assert status["error"] == "Request was cancelled"
    again = client.put(submitted["cancel_url"], headers=fal_auth(fresh_emu))
    assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})
    result = client.get(submitted["response_url"], headers=fal_auth(fresh_emu))
    assert result.status_code == 400
    assert fresh_emu.stats("fal").running == 0
    assert fresh_emu.stats("fal").cancelled == 1


def test_unknown_request_is_404(emu: Emulator, client: httpx.Client) -> None:
    """Status, result and cancel of an unknown request id are 404."""
    base = f"{emu.base_url('fal')}/fal-ai/veo3/requests/00000000-0000-0000-0000-000000000000"
    assert client.get(f"{base}/status", headers=fal_auth(emu)).status_code == 404
    assert client.get(base, headers=fal_auth(emu)).status_code == 404
    cancel = client.put(f"{base}/cancel", headers=fal_auth(emu))
    assert (cancel.status_code, cancel.json()) == (404, {"status": "NOT_FOUND"})


def test_request_timeout_expires_a_queued_job(fresh_emu: Emulator, client: httpx.Client) -> None:
    """X-Fal-Request-Timeout ends a job that never started as request_timeout, counted failed."""
    fresh_emu.latency = Latency(queue_seconds=5, run_seconds=0.1)
    submitted = fal_submit(client, fresh_emu, headers={"X-Fal-Request-Timeout": "0.2"}).json()
    status = fal_wait(client, fresh_emu, submitted["status_url"])
    assert (status["error_type"], status["error"]) == ("request_timeout", "Request timed out")
    result = client.get(submitted["response_url"], headers=fal_auth(fresh_emu))
    assert result.status_code == 504
    assert result.headers["x-fal-error-type"] == "request_timeout"
    stats = fresh_emu.stats()
    assert (stats.failed, stats.running) == (1, 0)
    assert fresh_emu.jobs()[0].headers["x-fal-request-timeout"] == "0.2"


def test_request_timeout_does_not_touch_a_started_job(emu: Emulator, client: httpx.Client) -> None:
    """X-Fal-Request-Timeout is a start deadline: a job already running completes normally."""
    submitted = fal_submit(client, emu, headers={"X-Fal-Request-Timeout": "0.1"}).json()
    emu.latency = Latency(queue_seconds=0.0, run_seconds=0.3)
    status = fal_wait(client, emu, submitted["status_url"])
    assert "error" not in status


def test_jobs_record_input_and_headers(fresh_emu: Emulator, client: httpx.Client) -> None:
    """emu.jobs() shows the model, the payload and the fal headers as sent."""
    fal_submit(
        client,
        fresh_emu,
        "fal-ai/veo3/fast",
        {"prompt": "p", "duration": "8s"},
        {"X-Fal-Queue-Priority": "low"},
    )
    [job] = fresh_emu.jobs("fal")
    assert (job.provider, job.model, job.input) == (
        "fal",
        "fal-ai/veo3/fast",
        {"prompt": "p", "duration": "8s"},
    )
    assert job.headers["x-fal-queue-priority"] == "low"


def test_job_failure_result_is_a_500(fresh_emu: Emulator, client: httpx.Client) -> None:
    """job_failure ends COMPLETED + error; the result is a 500 the SDK won't retry."""
    fresh_emu.inject(Fault("job_failure", provider="fal"))
    submitted = fal_submit(client, fresh_emu).json()
    status = fal_wait(client, fresh_emu, submitted["status_url"])
    assert status["error_type"] == "internal_server_error"
    result = client.get(submitted["response_url"], headers=fal_auth(fresh_emu))
    assert result.status_code == 500
    assert result.headers["x-fal-request-id"] == submitted["request_id"]
    assert fresh_emu.stats().failed == 1


def test_content_refusal_result_is_a_422_detail_list(emu: Emulator, client: httpx.Client) -> None:
    """content_refusal: status error_type content_policy_violation; result 422 ``detail`` list."""
    emu.inject(Fault("content_refusal", provider="fal"))
    submitted = fal_submit(client, emu, body={"prompt": "bad"}).json()
    assert (
        fal_wait(client, emu, submitted["status_url"])["error_type"] == "content_policy_violation"
    )
    result = client.get(submitted["response_url"], headers=fal_auth(emu))
    assert result.status_code == 422
    [detail] = result.json()["detail"]
    assert (detail["type"], detail["loc"], detail["input"]) == (
        "content_policy_violation",
        ["body", "prompt"],
        "bad",
    )
