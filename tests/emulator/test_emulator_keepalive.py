"""The emulator keeps idle connections longer than tarash's pool does."""

from __future__ import annotations

from tarash.emulator import Emulator
from tarash.emulator._server import IDLE_TIMEOUT_SECONDS
from tarash.tarash_gateway.engine._http import KEEPALIVE_EXPIRY


def test_a_pooled_connection_expires_at_the_client_before_the_server_closes_it() -> None:
    # Otherwise a request sent as the server closes an idle connection fails
    # ("Server disconnected"), and a lost create fails its request.
    assert IDLE_TIMEOUT_SECONDS > KEEPALIVE_EXPIRY
    with Emulator() as emu:
        assert emu._server is not None
        assert emu._server.config.timeout_keep_alive == IDLE_TIMEOUT_SECONDS
