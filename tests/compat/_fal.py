"""The fal queue on respx: just enough of fal's wire for a job to run to completion."""

from __future__ import annotations

from typing import Any

import httpx
import respx

FAL_BASE = "https://queue.fal.test"
FAL_KEY = "fal-compat-key-0123456789"
FAL_REQUEST_ID = "5b0e7e1c-7c1f-4e8e-9a57-0c9b1f0d2a11"
FAL_VIDEO_URL = "https://v3.fal.media/files/compat/output.mp4"


def fal_queue_app(model: str) -> str:
    """fal's status/result URLs use the model's first two path segments (owner/alias)."""
    return "/".join([part for part in model.split("/") if part][:2])


def fal_config_kwargs(model: str = "fal-ai/veo3", **overrides: Any) -> dict[str, Any]:
    """The keywords of a fal video config aimed at the respx-mocked queue."""
    fields: dict[str, Any] = {
        "provider": "fal",
        "model": model,
        "base_url": FAL_BASE,
        "api_key": FAL_KEY,
        "poll_interval": 0.01,
        "provider_config": {"status_stream": False},
    }
    fields.update(overrides)
    return fields


def route_fal_job(
    router: respx.MockRouter,
    model: str,
    *,
    request_id: str = FAL_REQUEST_ID,
    result: dict[str, Any] | None = None,
) -> respx.Route:
    """Route one fal queue job (submit, COMPLETED status, result); return the submit route."""
    root = f"{FAL_BASE}/{fal_queue_app(model)}/requests/{request_id}"
    submit = router.post(f"{FAL_BASE}/{model}").mock(
        return_value=httpx.Response(
            200,
            json={
                "status": "IN_QUEUE",
                "request_id": request_id,
                "response_url": root,
                "status_url": f"{root}/status",
                "cancel_url": f"{root}/cancel",
            },
        )
    )
    router.get(f"{root}/status").mock(
        return_value=httpx.Response(200, json={"status": "COMPLETED", "request_id": request_id})
    )
    router.get(root).mock(
        return_value=httpx.Response(
            200,
            json=result
            or {"video": {"url": FAL_VIDEO_URL, "content_type": "video/mp4", "file_size": 10}},
        )
    )
    return submit
