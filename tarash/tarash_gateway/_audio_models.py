"""Where the text-to-speech and speech-to-speech models lived; they are in
:mod:`tarash.tarash_gateway.models` now.

Kept so that a response or config pickled by an earlier version (which names this module)
still loads; nothing in tarash imports it.
"""

from __future__ import annotations

from tarash.tarash_gateway.models import (
    MAX_SAMPLE_RATE as MAX_SAMPLE_RATE,
)
from tarash.tarash_gateway.models import (
    AsyncSTSProgressCallback,
    AsyncTTSProgressCallback,
    AudioGenerationConfig,
    AudioOutputFormat,
    STSProgressCallback,
    STSRequest,
    STSResponse,
    STSUpdate,
    SyncSTSProgressCallback,
    SyncTTSProgressCallback,
    TTSProgressCallback,
    TTSRequest,
    TTSResponse,
    TTSUpdate,
    format_to_content_type,
)

__all__ = [
    "AsyncSTSProgressCallback",
    "AsyncTTSProgressCallback",
    "AudioGenerationConfig",
    "AudioOutputFormat",
    "STSProgressCallback",
    "STSRequest",
    "STSResponse",
    "STSUpdate",
    "SyncSTSProgressCallback",
    "SyncTTSProgressCallback",
    "TTSProgressCallback",
    "TTSRequest",
    "TTSResponse",
    "TTSUpdate",
    "format_to_content_type",
]
