"""Google's Vertex AI backend: where requests go, how they authenticate, where results live.

Facts (googleapis/python-genai ``_api_client.py``, ``_transformers.py``; see
docs/providers/google.md):

- The backend is chosen by ``vertexai`` (or ``GOOGLE_GENAI_USE_VERTEXAI`` = ``true``/``1``);
  ``project`` and ``location`` fall back to ``GOOGLE_CLOUD_PROJECT`` and
  ``GOOGLE_CLOUD_LOCATION``; with no location the SDK uses ``global``.
- Hosts: ``global`` (and express mode) is ``aiplatform.googleapis.com``; the multi-regions
  ``us``/``eu`` are ``aiplatform.{loc}.rep.googleapis.com``; a region is
  ``{loc}-aiplatform.googleapis.com``. The SDK speaks ``v1beta1``.
- A model is ``projects/{p}/locations/{l}/publishers/google/models/{m}``; in express mode (an
  API key, no project) just ``publishers/google/models/{m}``.
- Results written to Cloud Storage are ``gs://bucket/object`` URIs, read through the storage
  JSON API (``/download/storage/v1/b/{bucket}/o/{object}?alt=media``) with the same token.

The published tarash-gateway selects Vertex differently, and both ways are accepted
(:func:`vertex_requested`): no ``api_key`` and a ``provider_config`` naming a project
(``project``, or its documented ``gcp_project``), location or credentials file
(``credentials_path``) is Vertex AI too, at ``us-central1`` when no location is given (its
documented default); an explicit ``vertexai=False`` still means the Gemini API.

Application Default Credentials need ``google-auth`` (the ``vertex`` extra), imported only
when used; tokens are minted in a worker thread and minted again before they expire.

How a Google client authenticates (:func:`google_credentials`): the Gemini API and Vertex
express mode send an API key as ``x-goog-api-key``; Vertex with a project sends an access
token (given, or minted from ADC) as ``Authorization: Bearer``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import quote

import anyio
import anyio.to_thread
import httpx
from pydantic import SecretStr

from tarash.tarash_gateway.errors import AuthenticationError, ValidationError
from tarash.tarash_gateway.providers._credentials import ApiKey, Credentials, MintedToken

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "GEMINI_KEY",
    "KEY_ENV_VARS",
    "OFFICIAL_STORAGE",
    "PUBLISHED_DEFAULT_LOCATION",
    "PUBLISHED_VERTEX_OPTIONS",
    "REFRESH_MARGIN",
    "TOKEN_ENV_VAR",
    "VERTEX_API_VERSION",
    "AuthMode",
    "GoogleAuthCredentials",
    "TokenSource",
    "VertexTarget",
    "google_credentials",
    "published_vertex",
    "storage_download_url",
    "token_source",
    "vertex_host",
    "vertex_requested",
]

VERTEX_API_VERSION = "v1beta1"
"""The version python-genai speaks on Vertex (Google's own samples use ``v1``; both serve Veo)."""
TOKEN_ENV_VAR = "GOOGLE_OAUTH_ACCESS_TOKEN"
"""Where an OAuth access token is read from when the config's ``api_key`` gives none."""
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
OFFICIAL_STORAGE = "https://storage.googleapis.com"
REFRESH_MARGIN = timedelta(minutes=5)
"""A token this close to its expiry is minted again before it is used (a long job's polls
and the download run for minutes)."""
KEY_ENV_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
"""Where the Gemini API (and Vertex express mode) key is read from, in order (the SDK's)."""
PUBLISHED_VERTEX_OPTIONS = ("project", "gcp_project", "location", "credentials", "credentials_path")
"""The ``provider_config`` keys that, with no ``api_key``, select Vertex AI (the published
package's ``project``, ``location``, ``credentials_path`` and its documented ``gcp_project``;
tarash's ``credentials``)."""
PUBLISHED_DEFAULT_LOCATION = "us-central1"
"""The published package's documented location when Vertex is selected its way."""
_MULTI_REGIONS = frozenset({"us", "eu"})
_TRUE = frozenset({"true", "1"})

AuthMode = Literal["token", "express", "adc"]


def vertex_requested(provider_config: Mapping[str, Any], *, has_key: bool = True) -> bool:
    """Whether the Vertex backend is asked for: ``provider_config["vertexai"]``, else
    ``GOOGLE_GENAI_USE_VERTEXAI`` (as the SDK reads it), else the published package's rule:
    no ``api_key`` (``has_key`` false) and a Vertex option in ``provider_config``
    (:data:`PUBLISHED_VERTEX_OPTIONS`).

    Raises:
        ValidationError: ``vertexai`` is not a bool.
    """
    given = provider_config.get("vertexai")
    if given is not None:
        if not isinstance(given, bool):
            raise ValidationError(
                f"provider_config vertexai must be true or false, got {type(given).__name__}",
                provider="google",
                fallback_allowed=False,
            )
        return given
    if os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").strip().lower() in _TRUE:
        return True
    return not has_key and published_vertex(provider_config)


def published_vertex(provider_config: Mapping[str, Any]) -> bool:
    """Whether ``provider_config`` names a Vertex option (the published selection, made
    when the config has no ``api_key``)."""
    return any(provider_config.get(name) is not None for name in PUBLISHED_VERTEX_OPTIONS)


def vertex_host(location: str) -> str:
    """The official Vertex AI origin serving ``location``."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in _MULTI_REGIONS:
        return f"https://aiplatform.{location}.rep.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def _option(provider_config: Mapping[str, Any], name: str, env_var: str) -> str | None:
    given = provider_config.get(name)
    if given is None:
        given = os.environ.get(env_var) or None
    if given is None:
        return None
    if not isinstance(given, str) or not given.strip():
        raise ValidationError(
            f"provider_config {name} must be a non-empty string",
            provider="google",
            fallback_allowed=False,
        )
    value = given.strip()
    # Both go into URL paths: nothing that changes what is requested.
    if not all(char.isalnum() or char in "-_." for char in value):
        raise ValidationError(
            f"provider_config {name} holds characters a Google Cloud {name} id never has",
            provider="google",
            fallback_allowed=False,
        )
    return value


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, provider="google", fallback_allowed=False)


def _project(provider_config: Mapping[str, Any]) -> str | None:
    """``project``, else the published docs' ``gcp_project``, else ``GOOGLE_CLOUD_PROJECT``."""
    if provider_config.get("gcp_project") is None:
        return _option(provider_config, "project", "GOOGLE_CLOUD_PROJECT")
    published = _option(provider_config, "gcp_project", "GOOGLE_CLOUD_PROJECT")
    given = provider_config.get("project")
    if given is not None and _option(provider_config, "project", "") != published:
        raise _refuse("provider_config project and gcp_project name two projects: give one")
    return published


def _credentials_option(provider_config: Mapping[str, Any]) -> Any:
    """``credentials`` (``"adc"`` or a file), or the published ``credentials_path``, which
    must name a readable file (checked now, as the published package does, so that a typo
    is a ValidationError naming the field, not an authentication failure at submit)."""
    path = provider_config.get("credentials_path")
    if path is None:
        return provider_config.get("credentials")
    if provider_config.get("credentials") is not None:
        raise _refuse("provider_config credentials and credentials_path: give one")
    if not isinstance(path, str) or not path.strip():
        raise _refuse("provider_config credentials_path must be the path of a JSON file")
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise _refuse(
            "provider_config credentials_path names no readable file "
            "(a service-account JSON key is expected)"
        )
    return path


@dataclass(frozen=True, slots=True)
class VertexTarget:
    """Where a Vertex AI request goes and how it authenticates.

    Attributes:
        project: The Google Cloud project; ``None`` in express mode.
        location: The region (or ``global``).
        auth: ``token`` (an OAuth access token given), ``adc`` (minted from Application
            Default Credentials or a service-account file), ``express`` (an API key).
        credentials: For ``adc``: ``"adc"`` or the path of a credentials JSON file.
    """

    project: str | None
    location: str
    auth: AuthMode
    credentials: str | None = None

    @classmethod
    def from_settings(
        cls,
        provider_config: Mapping[str, Any],
        *,
        has_key: bool,
        default_location: str = "global",
    ) -> VertexTarget:
        """Resolve the target from ``provider_config`` and the environment.

        With a project (``project``, or the published ``gcp_project``): the config's
        ``api_key`` (or ``GOOGLE_OAUTH_ACCESS_TOKEN``) is an access token, else
        ``credentials`` (default ``"adc"``) or the published ``credentials_path`` (a
        service-account JSON file) mints one. Without one: express mode, the ``api_key``
        (or ``GOOGLE_API_KEY``/``GEMINI_API_KEY``) is a key.

        Args:
            provider_config: The config's options.
            has_key: Whether the config gives an ``api_key``.
            default_location: The location when neither the config nor
                ``GOOGLE_CLOUD_LOCATION`` gives one (the SDK's ``global``; the published
                selection's ``us-central1``).

        Raises:
            ValidationError: An option is malformed, ``credentials_path`` is not a
                readable file, or the combination is not one Vertex serves.
        """
        project = _project(provider_config)
        credentials = _credentials_option(provider_config)
        if credentials is not None and (not isinstance(credentials, str) or not credentials):
            raise ValidationError(
                "provider_config credentials must be 'adc' or the path of a credentials "
                "JSON file (a credentials object would be printed and pickled with the config)",
                provider="google",
                fallback_allowed=False,
            )
        if project is None:
            if provider_config.get("location") is not None or credentials is not None:
                raise ValidationError(
                    "Vertex AI with a location or credentials needs a project: set "
                    "provider_config project (or GOOGLE_CLOUD_PROJECT); express mode (an API "
                    "key, no project) takes neither",
                    provider="google",
                    fallback_allowed=False,
                )
            return cls(project=None, location="global", auth="express")
        location = _option(provider_config, "location", "GOOGLE_CLOUD_LOCATION") or default_location
        if credentials is not None:
            return cls(project, location, "adc", credentials)
        if has_key or os.environ.get(TOKEN_ENV_VAR, "").strip():
            return cls(project, location, "token")
        return cls(project, location, "adc", "adc")

    def model_path(self, model: str) -> str:
        """The model's resource name (``projects/.../publishers/google/models/{m}``)."""
        publisher = f"publishers/google/models/{model}"
        if self.project is None:
            return publisher
        return f"projects/{self.project}/locations/{self.location}/{publisher}"

    def official_root(self) -> str:
        """The official versioned API root for this target."""
        return f"{vertex_host(self.location)}/{VERTEX_API_VERSION}"


def storage_download_url(gcs_uri: str, storage_base: str) -> str | None:
    """The storage JSON API's media download of a ``gs://`` object URI.

    ``gs://bucket/a/b.mp4`` ->
    ``{storage_base}/download/storage/v1/b/bucket/o/a%2Fb.mp4?alt=media``; ``None`` when
    ``gcs_uri`` is not one.
    """
    if not gcs_uri.startswith("gs://"):
        return None
    bucket, _, name = gcs_uri[len("gs://") :].partition("/")
    if not bucket or not name or not all(char.isalnum() or char in "-_." for char in bucket):
        return None
    return f"{storage_base}/download/storage/v1/b/{bucket}/o/{quote(name, safe='')}?alt=media"


# -- Application Default Credentials ----------------------------------------------------------


class GoogleAuthCredentials(Protocol):
    """What tarash uses of a google-auth credentials object."""

    token: str | None
    expiry: datetime | None

    def refresh(self, request: Any) -> None:
        """Mint a new token (google-auth's ``Credentials.refresh``)."""


@dataclass(frozen=True, slots=True)
class _AuthResponse:
    """A reply in the shape google-auth's transport interface returns."""

    status: int
    headers: Mapping[str, str]
    data: bytes


class _HttpxAuthRequest:
    """google-auth's ``transport.Request`` interface over httpx (its own needs ``requests``).

    Runs in the worker thread that mints the token, so it is synchronous.
    """

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **_: Any,
    ) -> _AuthResponse:
        # google-auth wraps what a transport raises in its own TransportError.
        with httpx.Client(timeout=timeout or 30.0) as client:
            reply = client.request(method, url, content=body, headers=dict(headers or {}))
        return _AuthResponse(reply.status_code, dict(reply.headers), reply.content)


def _load_credentials(spec: str) -> GoogleAuthCredentials:
    """``google.auth.default()`` for ``"adc"``, else the credentials file at ``spec``."""
    try:
        # The optional extra, imported only when used (and untyped for mypy).
        google_auth: Any = importlib.import_module("google.auth")
    except ImportError:
        raise AuthenticationError(
            _NO_GOOGLE_AUTH,
            provider="google",
            retryable=False,
        ) from None
    scopes = [CLOUD_PLATFORM_SCOPE]
    try:
        if spec == "adc":
            found, _project = google_auth.default(scopes=scopes)
        else:
            found, _project = google_auth.load_credentials_from_file(spec, scopes=scopes)
    except Exception as exc:  # google-auth's DefaultCredentialsError and file errors
        raise AuthenticationError(
            f"could not load Google credentials ({type(exc).__name__}): {exc}",
            provider="google",
            retryable=False,
        ) from None
    credentials: GoogleAuthCredentials = found
    return credentials


class TokenSource:
    """Access tokens minted from one credentials object, shared by every client using it.

    Args:
        credentials: A google-auth credentials object (or anything with ``token``,
            ``expiry`` and ``refresh(request)``).
        now: The clock (UTC), injected in tests.
    """

    def __init__(self, credentials: GoogleAuthCredentials, *, now: Any = None) -> None:
        self._credentials = credentials
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self.mints = 0

    def current(self) -> SecretStr | None:
        """The token held now, if it is still good for :data:`REFRESH_MARGIN`."""
        token = self._credentials.token
        if not token:
            return None
        expiry = self._credentials.expiry
        if expiry is not None:
            # google-auth keeps expiry as a naive UTC datetime.
            aware = expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)
            if aware - self._now() <= REFRESH_MARGIN:
                return None
        return SecretStr(token)

    def _mint(self) -> SecretStr:
        with self._lock:  # one refresh at a time; a second caller reuses the first's token
            held = self.current()
            if held is not None:
                return held
            try:
                self._credentials.refresh(_HttpxAuthRequest())
            except Exception as exc:  # google-auth's RefreshError, TransportError
                raise AuthenticationError(
                    f"could not mint a Google access token ({type(exc).__name__})",
                    provider="google",
                    retryable=False,
                ) from None
            self.mints += 1
            token = self._credentials.token
            if not token:
                raise AuthenticationError(
                    "the Google credentials minted no access token",
                    provider="google",
                    retryable=False,
                )
            return SecretStr(token)

    async def token(self) -> SecretStr:
        """A token good for at least :data:`REFRESH_MARGIN`, minted in a worker thread
        when the one held is missing or about to expire (minting is blocking I/O).

        Raises:
            AuthenticationError: The credentials could not mint one.
        """
        held = self.current()
        if held is not None:
            return held
        return await anyio.to_thread.run_sync(self._mint)


_SOURCES: dict[str, TokenSource] = {}
_SOURCES_LOCK = threading.Lock()


def token_source(spec: str) -> TokenSource:
    """The process's token source for ``spec`` (``"adc"`` or a credentials file), loaded
    once: every attempt and every wait reuses its token until it nears expiry.

    Raises:
        AuthenticationError: google-auth is missing or the credentials cannot be loaded.
    """
    with _SOURCES_LOCK:
        found = _SOURCES.get(spec)
        if found is None:
            found = _SOURCES[spec] = TokenSource(_load_credentials(spec))
        return found


# -- how a Google client authenticates -------------------------------------------------------

GEMINI_KEY = ApiKey(KEY_ENV_VARS, header="x-goog-api-key", prefix="", also_secret=(TOKEN_ENV_VAR,))
"""The Gemini API's and Vertex express mode's: an API key as ``x-goog-api-key``."""
_VERTEX_TOKEN = ApiKey(
    (TOKEN_ENV_VAR,), header="authorization", noun="token", also_secret=KEY_ENV_VARS
)
_NO_GOOGLE_AUTH = (
    "Vertex AI with Application Default Credentials needs google-auth: "
    'pip install "tarash-gateway[vertex]", or pass an access token as api_key '
    f"(or {TOKEN_ENV_VAR}), or use express mode (an API key, no project)"
)


def google_credentials(target: VertexTarget | None) -> Credentials:
    """How a client of ``target`` (``None``: the Gemini API) authenticates.

    The Gemini API and express mode: :data:`GEMINI_KEY`. Vertex with a token: the
    config's ``api_key`` or ``GOOGLE_OAUTH_ACCESS_TOKEN``, as ``Authorization: Bearer``.
    Vertex with Application Default Credentials (or a credentials file): a token minted
    before each request (reused while good) from :func:`token_source`.
    """
    if target is None or target.auth == "express":
        return GEMINI_KEY
    # Vertex counts quota per project and region, and its tokens (given, or minted) change
    # every hour: the project and region are the account the limits count.
    account = f"vertex\0{target.project}\0{target.location}"
    if target.auth == "token" or target.credentials is None:
        return dataclasses.replace(_VERTEX_TOKEN, account=account)
    return MintedToken(
        source=functools.partial(token_source, target.credentials),
        missing=_NO_GOOGLE_AUTH,
        library="google.auth",
        env_vars=(*KEY_ENV_VARS, TOKEN_ENV_VAR),
        account=account,
    )
