"""Compat: what keeps the published package's surface working, fenced beside the core.

What is in it:

- ``_handler``: the published handler protocol (``handler_for``, ``run_handler_attempt``,
  ``ClientHandler``).

The mock's sample library (``providers/_mock_library``) sits in the providers room, beside
the mock client that uses it.

The published doors stay where users import them: ``tarash.tarash_gateway.mock``,
``exceptions``, ``registry`` and ``providers.field_mappers``; ``_audio_models`` stays at the
top as the shim old pickles load through.
"""

from __future__ import annotations

__all__: list[str] = []
