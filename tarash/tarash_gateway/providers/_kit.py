"""The names every provider module builds on, in one namespace.

Provider modules import this as ``kit`` (``from ... import _kit as kit``) and say
``kit.PreparedJob``, ``kit.error_for_status``: one short import line instead of the same long
import lists repeated in every provider, and the reader sees at a glance which names are the
shared kit and which are the provider's own.
"""

from __future__ import annotations

from tarash.tarash_gateway.engine._http import (
    UNKNOWN_CALL,
    CallContext,
    response_json,
    same_origin,
    url_origin,
)
from tarash.tarash_gateway.engine._polling import JobSnapshot, JobState
from tarash.tarash_gateway.errors import (
    ContentModerationError,
    GenerationFailedError,
    HTTPError,
    InsufficientCreditError,
    JobCancelledError,
    NotFoundError,
    ProviderServerError,
    RateLimitError,
    TarashException,
    ValidationError,
    error_for_status,
)
from tarash.tarash_gateway.models import ImageGenerationRequest, JobHandle, VideoGenerationRequest
from tarash.tarash_gateway.providers._base import (
    AnsweredSubmit,
    ImageOutput,
    JobKind,
    JobUrls,
    ModelCapabilities,
    PreparedJob,
    ProviderClient,
    ProviderSettings,
    SubmittedJob,
    VideoOutput,
)
from tarash.tarash_gateway.providers._credentials import (
    ApiKey,
    AzureKeyOrEntra,
    Credentials,
    MintedToken,
    NoKey,
)
from tarash.tarash_gateway.providers._spec import Composed, ModelSpec

__all__ = [
    "UNKNOWN_CALL",
    "AnsweredSubmit",
    "ApiKey",
    "AzureKeyOrEntra",
    "CallContext",
    "Composed",
    "ContentModerationError",
    "Credentials",
    "GenerationFailedError",
    "HTTPError",
    "ImageGenerationRequest",
    "ImageOutput",
    "InsufficientCreditError",
    "JobCancelledError",
    "JobHandle",
    "JobKind",
    "JobSnapshot",
    "JobState",
    "JobUrls",
    "MintedToken",
    "ModelCapabilities",
    "ModelSpec",
    "NoKey",
    "NotFoundError",
    "PreparedJob",
    "ProviderClient",
    "ProviderServerError",
    "ProviderSettings",
    "RateLimitError",
    "SubmittedJob",
    "TarashException",
    "ValidationError",
    "VideoGenerationRequest",
    "VideoOutput",
    "error_for_status",
    "response_json",
    "same_origin",
    "url_origin",
]
