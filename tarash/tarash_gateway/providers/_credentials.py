"""Credentials strategies: where a client's key is found, how it is sent, what is secret.

A provider client names its strategy as a class attribute (``credentials = ApiKey(...)``)
instead of overriding the key methods; :class:`ProviderClient` asks it for the key
(``api_key``), the authenticating headers (``auth_headers``) and the values that must never
appear in an output (``secrets``), and lets it mint a token before each request
(``refresh``). The strategies hold no secret themselves (only the names of environment
variables), so they are safe to print and to pickle; a minted token is kept on the client
(``minted``), as a :class:`~pydantic.SecretStr`.

- :class:`ApiKey`: a key from the config or the environment, sent in one header with a
  prefix (``Authorization: Bearer``, fal's ``Authorization: Key``, ``x-goog-api-key``);
  optionally an id and secret pair of variables (fal's ``FAL_KEY_ID``/``FAL_KEY_SECRET``).
- :class:`AzureKeyOrEntra`: Azure OpenAI's ``api-key`` header, or an Entra token as
  ``Authorization: Bearer``.
- :class:`MintedToken`: an OAuth access token minted from Google's Application Default
  Credentials (or a credentials file) before each request.
- :class:`NoKey`: the mock's: nothing is sent, nothing is ever missing.
"""

from __future__ import annotations

import abc
import contextlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
from pydantic import SecretStr

from tarash.tarash_gateway._validate import clean_api_key
from tarash.tarash_gateway.errors import AuthenticationError, TarashException, ValidationError

__all__ = [
    "ApiKey",
    "AzureKeyOrEntra",
    "Credentials",
    "KeyOwner",
    "MintedToken",
    "NoKey",
    "TokenMinter",
    "clean_key",
]


class _Given(Protocol):
    """What the config gave (a :class:`~.ProviderSettings`)."""

    api_key: SecretStr | None
    provider_config: Mapping[str, Any]


class KeyOwner(Protocol):
    """What a strategy reads of the client it authenticates (a ``ProviderClient``)."""

    @property
    def name(self) -> str:
        """The provider's registry name (errors carry it)."""

    @property
    def model(self) -> str:
        """The model (errors carry it)."""

    @property
    def settings(self) -> _Given:
        """The config's key and options."""

    minted: SecretStr | None
    """The token a :class:`MintedToken` minted last for this client."""


def clean_key(owner: KeyOwner, key: str, name: str) -> SecretStr:
    """``key`` without surrounding whitespace (a key read from a file or a CRLF ``.env``
    ends in one, which HTTP refuses in a header), refusing any other odd character.

    Raises:
        ValidationError: Naming ``name``, not quoting the key.
    """
    try:
        return SecretStr(clean_api_key(key, name))
    except ValidationError as exc:
        exc.provider, exc.model = owner.name, owner.model
        # Like a missing key: this provider cannot be called, another one may be.
        exc.fallback_allowed = True  # type: ignore[misc]
        raise


class Credentials(abc.ABC):
    """How one provider finds its credential, sends it, and keeps it secret.

    Attributes:
        env_vars: The environment variables read for the key, in order (the official
            SDKs' names); the client's ``key_env_vars``.
        account: Who the calls count against, when it is not the key (Vertex AI counts
            quota per project and region, whatever token is sent); ``None``: the key.
    """

    env_vars: tuple[str, ...]
    account: str | None = None

    @abc.abstractmethod
    def key(self, owner: KeyOwner) -> SecretStr:
        """The credential to send.

        Raises:
            AuthenticationError: None was given or found (raised before any request).
            ValidationError: It holds an odd character (not quoted).
        """

    @abc.abstractmethod
    def headers(self, owner: KeyOwner) -> dict[str, str]:
        """The headers that authenticate a request (never logged)."""

    def secrets(self, owner: KeyOwner) -> list[str]:
        """Every value of the credential that must never appear in an output: as
        configured, as found in the environment (before its whitespace was stripped), as
        sent, and any token minted."""
        found = [os.environ.get(variable, "") for variable in self.secret_variables()]
        if owner.settings.api_key is not None:
            found.append(owner.settings.api_key.get_secret_value())
        # Nothing found, or nothing sendable: nothing was sent either.
        with contextlib.suppress(TarashException):
            found.append(self.key(owner).get_secret_value())
        if owner.minted is not None:
            found.append(owner.minted.get_secret_value())
        return [secret for secret in found if secret]

    def secret_variables(self) -> tuple[str, ...]:
        """The environment variables whose values are secrets: :attr:`env_vars`."""
        return self.env_vars

    async def refresh(self, owner: KeyOwner) -> None:
        """Make the credential ready before a request (mint a token); nothing by default.

        Raises:
            AuthenticationError: It could not be made ready.
        """
        return None


@dataclass(frozen=True, slots=True)
class ApiKey(Credentials):
    """A key from the config's ``api_key`` or the first of :attr:`env_vars` that is set,
    sent as ``{header}: {prefix}{key}``.

    Attributes:
        env_vars: The environment variables read, in order.
        header: The header that carries it.
        prefix: What comes before the key in the header (``"Bearer "``, ``"Key "``, none).
        pair: Two variables read when none of :attr:`env_vars` is set, sent joined as
            ``id:secret`` (fal's ``FAL_KEY_ID`` and ``FAL_KEY_SECRET``).
        hint: How the no-key error names the variables to set; they joined by ``or``
            when empty.
        noun: What a malformed value in a variable is called (``"the token in ..."``).
        also_secret: More variables whose values are never shown (a provider's other
            credentials, read by another of its strategies).
        account: Who the calls count against, when not the key.
    """

    env_vars: tuple[str, ...]
    header: str = "Authorization"
    prefix: str = "Bearer "
    pair: tuple[str, str] | None = None
    hint: str = ""
    noun: str = "API key"
    also_secret: tuple[str, ...] = ()
    account: str | None = None

    def key(self, owner: KeyOwner) -> SecretStr:
        """The config's key when it has one, else :meth:`from_environment`'s, stripped.

        Raises:
            AuthenticationError: No key was given or found (raised before any request).
            ValidationError: The key holds whitespace, control or non-ASCII characters
                inside (raised before any request; the key is not quoted).
        """
        given_key = owner.settings.api_key
        if given_key is not None:
            given = given_key.get_secret_value()
            if given.strip():
                return clean_key(owner, given, "api_key")
        found = self.from_environment(owner)
        if found is not None:
            return found
        variables = self.hint or " or ".join(self.env_vars)
        raise AuthenticationError(
            f"no API key: pass api_key in the config or set {variables}",
            provider=owner.name,
            model=owner.model,
            retryable=False,
        )

    def from_environment(self, owner: KeyOwner) -> SecretStr | None:
        """The first of :attr:`env_vars` that is set, else the :attr:`pair` joined, cleaned;
        ``None`` when none is set."""
        for variable in self.env_vars:
            value = os.environ.get(variable)
            if value and value.strip():
                return clean_key(owner, value, f"the {self.noun} in {variable}")
        if self.pair is None:
            return None
        id_variable, secret_variable = self.pair
        key_id = os.environ.get(id_variable, "")
        key_secret = os.environ.get(secret_variable, "")
        if not (key_id.strip() and key_secret.strip()):
            return None
        clean_id = clean_key(owner, key_id, f"the key id in {id_variable}")
        clean_secret = clean_key(owner, key_secret, f"the key secret in {secret_variable}")
        return SecretStr(f"{clean_id.get_secret_value()}:{clean_secret.get_secret_value()}")

    def headers(self, owner: KeyOwner) -> dict[str, str]:
        """``{header: prefix + key}``."""
        return {self.header: f"{self.prefix}{self.key(owner).get_secret_value()}"}

    def secret_variables(self) -> tuple[str, ...]:
        """:attr:`env_vars`, the :attr:`pair` and :attr:`also_secret`."""
        return (*self.env_vars, *(self.pair or ()), *self.also_secret)


@dataclass(frozen=True, slots=True)
class AzureKeyOrEntra(ApiKey):
    """Azure OpenAI: a resource key as ``api-key``, or a Microsoft Entra token as
    ``Authorization: Bearer``; the configured key, else ``AZURE_OPENAI_API_KEY``, else
    ``AZURE_OPENAI_AD_TOKEN`` (the OpenAI SDK's two variables).

    The token is sent when ``provider_config["auth"]`` is ``"entra"``; with no ``auth``
    option, when no key is configured or in ``AZURE_OPENAI_API_KEY`` but a token is in
    ``AZURE_OPENAI_AD_TOKEN``.
    """

    env_vars: tuple[str, ...] = ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN")
    hint: str = "AZURE_OPENAI_API_KEY (or an Entra token in AZURE_OPENAI_AD_TOKEN)"

    def uses_entra(self, owner: KeyOwner) -> bool:
        """Whether the credential is an Entra token (sent as a bearer)."""
        config = owner.settings.provider_config
        if "auth" in config:
            return bool(config["auth"] == "entra")
        # No key anywhere but a token in AZURE_OPENAI_AD_TOKEN: the token is what is sent.
        given = owner.settings.api_key
        configured = given is not None and given.get_secret_value()
        return not configured and not (os.environ.get("AZURE_OPENAI_API_KEY") or "").strip()

    def headers(self, owner: KeyOwner) -> dict[str, str]:
        """``api-key: <key>``, or ``Authorization: Bearer <Entra token>``."""
        secret = self.key(owner).get_secret_value()
        if self.uses_entra(owner):
            return {"Authorization": f"Bearer {secret}"}
        return {"api-key": secret}


class TokenMinter(Protocol):
    """Mints access tokens (``_google_vertex.TokenSource``)."""

    async def token(self) -> SecretStr:
        """A token good for a while yet.

        Raises:
            AuthenticationError: None could be minted.
        """


@dataclass(frozen=True, slots=True)
class MintedToken(Credentials):
    """An OAuth access token minted before each request (reused while it is good), sent as
    ``Authorization: Bearer``: Google's Application Default Credentials.

    Attributes:
        source: Gives the process's minter for these credentials (loading them is blocking
            I/O: it is called in a worker thread, once per request).
        missing: The error message when the library that mints is not installed.
        library: The module that library provides (``"google.auth"``).
        env_vars: The provider's other credentials' variables: never read here, never
            shown.
        account: Who the calls count against (the tokens change every hour).
    """

    source: Callable[[], TokenMinter]
    missing: str
    library: str
    env_vars: tuple[str, ...] = ()
    account: str | None = None

    def key(self, owner: KeyOwner) -> SecretStr:
        """The token minted last; empty before the first request (which mints one).

        Raises:
            AuthenticationError: The minting library is not installed.
        """
        if owner.minted is not None:
            return owner.minted
        if not _installed(self.library):
            raise AuthenticationError(
                self.missing, provider=owner.name, model=owner.model, retryable=False
            )
        # Minted before the first request (see refresh): nothing to send yet.
        return SecretStr("")

    def headers(self, owner: KeyOwner) -> dict[str, str]:
        """``authorization: Bearer <token>``."""
        return {"authorization": f"Bearer {self.key(owner).get_secret_value()}"}

    async def refresh(self, owner: KeyOwner) -> None:
        """Mint the token (or reuse the one still good) and keep it on the client.

        Raises:
            AuthenticationError: The credentials could not be loaded or mint one.
        """
        minter: TokenMinter = await anyio.to_thread.run_sync(self.source)
        try:
            owner.minted = await minter.token()
        except AuthenticationError as exc:
            exc.model = owner.model
            raise


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        # find_spec imports a dotted name's parent: ``google`` itself may be missing.
        return False


@dataclass(frozen=True, slots=True)
class NoKey(Credentials):
    """No credential: nothing is sent and none is ever missing (the mock). A configured
    key is still never shown."""

    env_vars: tuple[str, ...] = ()
    account: str | None = None

    def key(self, owner: KeyOwner) -> SecretStr:
        """The configured key, unused; empty when there is none."""
        return owner.settings.api_key or SecretStr("")

    def headers(self, owner: KeyOwner) -> dict[str, str]:
        """None: nothing is authenticated."""
        return {}
