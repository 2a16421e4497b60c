"""Compat: the published package's provider handlers, run as attempts of tarash's chain.

What is in it:

- ``_handler``: a published-style handler (an object doing a whole job per call) run as
  one attempt of a chain (``handler_for``, ``run_handler_attempt``): the deadline, progress
  relayed in order, errors, metadata, and audio (every audio config is a handler's).

What it may import: the providers (the registry, ``providers/_handlers``, the mock client's
audio), the engine and the data layer; the chain above passes down the attempt's recorder.
The published doors stay where users import them, with the public face:
``tarash.tarash_gateway.mock``, ``exceptions`` and ``registry`` (whose ``ClientHandler``
runs a built-in through ``api``); ``providers.field_mappers`` is in the providers room.
"""

from __future__ import annotations

__all__: list[str] = []
