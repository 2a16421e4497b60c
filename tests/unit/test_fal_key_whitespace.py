"""fal's key from the environment (FAL_KEY, or FAL_KEY_ID + FAL_KEY_SECRET) is stripped of
surrounding whitespace and refused, unquoted, with odd characters inside."""

from __future__ import annotations

import pytest

from tarash.tarash_gateway.errors import ValidationError
from tarash.tarash_gateway.providers._base import ProviderSettings
from tarash.tarash_gateway.providers.fal import FalClient
from tests.unit.test_secrets import CANARY, TRAILING


@pytest.mark.parametrize("trailing", TRAILING, ids=repr)
def test_fal_environment_key_parts_are_stripped(
    monkeypatch: pytest.MonkeyPatch, trailing: str
) -> None:
    """FAL_KEY, and FAL_KEY_ID + FAL_KEY_SECRET, lose their surrounding whitespace."""
    client = FalClient(ProviderSettings(model="fal-ai/flux/dev"))
    monkeypatch.setenv("FAL_KEY_ID", f"key-id-123456{trailing}")
    monkeypatch.setenv("FAL_KEY_SECRET", f"{CANARY}{trailing}")
    assert client.api_key().get_secret_value() == f"key-id-123456:{CANARY}"
    monkeypatch.setenv("FAL_KEY", f"{CANARY}{trailing}")
    assert client.auth_headers() == {"Authorization": f"Key {CANARY}"}


def test_bad_fal_key_secret_is_refused_unquoted(monkeypatch: pytest.MonkeyPatch) -> None:
    """fal's two-part key is checked part by part, without quoting either."""
    monkeypatch.setenv("FAL_KEY_ID", "key-id-123456")
    monkeypatch.setenv("FAL_KEY_SECRET", f"{CANARY}\x01tail")
    client = FalClient(ProviderSettings(model="fal-ai/flux/dev"))
    with pytest.raises(ValidationError) as info:
        client.api_key()
    assert "FAL_KEY_SECRET" in info.value.message
    assert CANARY not in str(info.value) and "key-id-123456" not in str(info.value)
