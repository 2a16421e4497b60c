"""Credentials strategies: a client names one as a class attribute; each finds the key,
sends it in its header, keeps every spelling of it secret, and holds no secret itself."""

from __future__ import annotations

import pickle
import sys
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from tarash.tarash_gateway.errors import AuthenticationError, ValidationError
from tarash.tarash_gateway.models import MockConfig
from tarash.tarash_gateway.providers import get_provider_class
from tarash.tarash_gateway.providers._base import ProviderClient, ProviderSettings
from tarash.tarash_gateway.providers._credentials import (
    ApiKey,
    AzureKeyOrEntra,
    Credentials,
    MintedToken,
    NoKey,
)
from tarash.tarash_gateway.providers._google_vertex import VertexTarget, google_credentials
from tarash.tarash_gateway.providers.mock import MockClient
from tarash.tarash_gateway.routing._attempt import account_of
from tests.unit.fake_provider import FakeClient

CANARY = "sk-credentials-canary-8812"
ENV = (
    "OPENAI_API_KEY",
    "FAL_KEY",
    "FAL_KEY_ID",
    "FAL_KEY_SECRET",
    "REPLICATE_API_TOKEN",
    "RUNWAYML_API_SECRET",
    "STABILITY_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "FAKE_PROVIDER_KEY",
)


@pytest.fixture(autouse=True)
def _no_keys_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def client_of(provider: str, **settings: Any) -> Any:
    fields: dict[str, Any] = {"model": "m", "base_url": "https://api.example.test", **settings}
    return get_provider_class(provider)(ProviderSettings(**fields))


@pytest.mark.parametrize(
    ("provider", "variables", "headers"),
    [
        ("openai", ("OPENAI_API_KEY",), {"Authorization": f"Bearer {CANARY}"}),
        ("fal", ("FAL_KEY",), {"Authorization": f"Key {CANARY}"}),
        ("replicate", ("REPLICATE_API_TOKEN",), {"Authorization": f"Bearer {CANARY}"}),
        ("stability", ("STABILITY_API_KEY",), {"authorization": f"Bearer {CANARY}"}),
        ("google", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), {"x-goog-api-key": CANARY}),
        ("azure_openai", ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"), {"api-key": CANARY}),
    ],
)
def test_each_client_names_its_strategy(
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    variables: tuple[str, ...],
    headers: dict[str, str],
) -> None:
    """The class names a strategy; key_env_vars are its variables; the key read from the
    first variable (whitespace stripped) goes in the strategy's header."""
    client_class = get_provider_class(provider)
    assert isinstance(client_class.credentials, Credentials)
    assert client_class.key_env_vars == variables
    monkeypatch.setenv(variables[0], f" {CANARY}\r\n")
    client = client_of(provider)
    assert client.auth_headers() == headers
    assert f" {CANARY}\r\n" in client.secrets()
    assert CANARY in client.secrets()


@pytest.mark.parametrize(
    "credentials",
    [
        ApiKey(("A_KEY",), prefix="Key ", pair=("AN_ID", "A_SECRET"), hint="A_KEY (or two)"),
        AzureKeyOrEntra(),
        NoKey(),
        google_credentials(VertexTarget("p", "us-central1", "adc", "adc")),
    ],
)
def test_a_strategy_holds_no_secret(
    monkeypatch: pytest.MonkeyPatch, credentials: Credentials
) -> None:
    """A strategy carries only variable names: after a key was read through it, its repr
    and its pickle still show none."""
    for name in ("A_KEY", "AZURE_OPENAI_API_KEY", "GOOGLE_OAUTH_ACCESS_TOKEN"):
        monkeypatch.setenv(name, CANARY)
    owner = client_of("openai")
    assert CANARY in credentials.secrets(owner) or isinstance(credentials, NoKey)
    assert CANARY not in repr(credentials)
    assert CANARY.encode() not in pickle.dumps(credentials)
    assert repr(pickle.loads(pickle.dumps(credentials))) == repr(credentials)


def test_the_no_key_error_names_the_variables_and_the_pair() -> None:
    """A missing key is refused before any request, naming what to set."""
    with pytest.raises(AuthenticationError, match=r"FAL_KEY \(or FAL_KEY_ID and FAL_KEY_SECRET\)"):
        client_of("fal").api_key()
    with pytest.raises(AuthenticationError, match=r"set OPENAI_API_KEY$"):
        client_of("openai").auth_headers()


def test_a_malformed_key_is_refused_without_being_quoted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key with a space inside is a ValidationError naming the variable, not the key;
    another provider may still be tried."""
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_abc def")
    with pytest.raises(ValidationError, match="REPLICATE_API_TOKEN") as caught:
        client_of("replicate").api_key()
    assert "abc" not in str(caught.value)
    assert caught.value.fallback_allowed is True
    assert caught.value.provider == "replicate"


def test_the_pair_values_are_secrets_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """fal's id and secret variables are each never shown, as well as the joined key."""
    monkeypatch.setenv("FAL_KEY_ID", "id-1")
    monkeypatch.setenv("FAL_KEY_SECRET", CANARY)
    client = client_of("fal")
    assert client.api_key().get_secret_value() == f"id-1:{CANARY}"
    assert {CANARY, f"id-1:{CANARY}"} <= set(client.secrets())


def test_the_mock_needs_no_key_and_still_hides_one() -> None:
    """The mock's NoKey: nothing sent, nothing missing, a configured key never shown."""
    client = MockClient(
        ProviderSettings(model="m", api_key=SecretStr(CANARY)), mock=MockConfig(enabled=True)
    )
    assert client.auth_headers() == {}
    assert CANARY in client.secrets()


def test_adc_without_the_google_package_is_an_authentication_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No ``google`` package at all (find_spec of google.auth then raises): the key is an
    AuthenticationError naming the extra, not a ModuleNotFoundError; secrets() still works."""
    monkeypatch.setitem(sys.modules, "google", None)
    client = client_of(
        "google",
        base_url=None,
        provider_config={"vertexai": True, "project": "p", "location": "us-central1"},
    )
    with pytest.raises(AuthenticationError, match=r"tarash-gateway\[vertex\]"):
        client.api_key()
    assert client.secrets() == []


def test_google_picks_its_strategy_by_backend() -> None:
    """Gemini API and express mode: the key; Vertex with a token: a bearer read from the
    token variable; Vertex with ADC: a minted token."""
    assert client_of("google").credentials is get_provider_class("google").credentials
    express = VertexTarget(None, "global", "express")
    assert google_credentials(express) is get_provider_class("google").credentials
    token = google_credentials(VertexTarget("p", "us-central1", "token"))
    assert isinstance(token, ApiKey) and token.env_vars == ("GOOGLE_OAUTH_ACCESS_TOKEN",)
    assert isinstance(google_credentials(VertexTarget("p", "l", "adc", "adc")), MintedToken)


def test_a_client_that_names_no_credentials_and_sends_none_is_refused() -> None:
    """Neither a strategy nor its own auth_headers: instantiating it is a TypeError."""

    class Keyless(FakeClient):
        name: ClassVar[str] = "keyless"
        auth_headers = ProviderClient.auth_headers

    with pytest.raises(TypeError, match="names no credentials"):
        Keyless(ProviderSettings(model="m"))


def test_a_client_with_its_own_auth_headers_reads_key_env_vars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The earlier protocol (key_env_vars and auth_headers, no strategy) still works."""
    monkeypatch.setenv("FAKE_PROVIDER_KEY", CANARY)
    client = FakeClient(ProviderSettings(model="t2v"))
    assert client.credentials is None
    assert client.auth_headers() == {"Authorization": f"Bearer {CANARY}"}
    assert CANARY in client.secrets()


def test_a_strategy_may_name_the_account_the_limits_count() -> None:
    """account_of fingerprints the strategy's account when it names one (Vertex: project
    and region, whatever the token), else the key sent; never the key itself."""

    class Shared(FakeClient):
        name: ClassVar[str] = "shared"
        credentials = ApiKey(("SHARED_KEY",), account="team-1")

    def account(key: str, client_class: type[FakeClient] = Shared) -> str | None:
        return account_of(client_class(ProviderSettings(model="t2v", api_key=SecretStr(key))))

    assert account("key-one") == account("key-two") != account("key-one", FakeClient)
    assert account("key-one", FakeClient) != account("key-two", FakeClient)
    assert "key-one" not in str(account("key-one", FakeClient))
