"""A local server that speaks the providers' real wire protocols, for tests and demos.

One uvicorn server on a background thread serves fal.ai's queue API under ``/fal``,
Replicate's predictions API under ``/replicate``, Stability's generate API under
``/stability``, OpenAI's Videos and Images APIs under ``/openai`` and Azure OpenAI (v1,
legacy Sora jobs, image deployments) under ``/azure_openai``, Runway's tasks API under
``/runway``, xAI's video and image APIs under ``/xai`` and OpenRouter's video API under
``/openrouter``, with a latency model, fault
injection and job accounting, over HTTP or (``tls=True``) HTTPS. Point a client's base URL
at it and give it the emulator's fake key; per-provider settings go in
``options=[ReplicateOptions(...)]``.

Example:
    ```python
    from tarash.emulator import Emulator, Fault, Latency

    with Emulator(latency=Latency(queue_seconds=0.0, run_seconds=0.2)) as emu:
        fal_base = emu.base_url("fal")  # "http://127.0.0.1:<port>/fal"
        fal_key = emu.api_key("fal")
        emu.inject(Fault("rate_limit", provider="fal", operation="submit", retry_after=0))
        ...  # run your app against fal_base
        assert emu.stats("fal").running == 0
    ```
"""

from __future__ import annotations

from tarash.emulator._faults import FAULT_HEADER, Fault, FaultKind, Operation
from tarash.emulator._jobs import EmulatorStats, JobSnapshot, Latency
from tarash.emulator._media import MediaKind
from tarash.emulator._server import Emulator
from tarash.emulator._wire import ProviderOptions
from tarash.emulator.azure_openai import AzureOpenAIOptions
from tarash.emulator.fal import FalOptions
from tarash.emulator.google import GoogleOptions
from tarash.emulator.openai import OpenAIOptions
from tarash.emulator.openrouter import OpenRouterOptions
from tarash.emulator.replicate import ReplicateOptions
from tarash.emulator.runway import RunwayOptions
from tarash.emulator.stability import StabilityOptions
from tarash.emulator.xai import XaiOptions

__all__ = [
    "FAULT_HEADER",
    "AzureOpenAIOptions",
    "Emulator",
    "EmulatorStats",
    "FalOptions",
    "Fault",
    "FaultKind",
    "GoogleOptions",
    "JobSnapshot",
    "Latency",
    "MediaKind",
    "OpenAIOptions",
    "OpenRouterOptions",
    "Operation",
    "ProviderOptions",
    "ReplicateOptions",
    "RunwayOptions",
    "StabilityOptions",
    "XaiOptions",
]
