"""Routing: one attempt, and the shared policies around it.

What is in it:

- ``_attempt``: one staged attempt (prepare, acquire, submit, wait, read, close) and the
  protocols of the services it uses (``AttemptServices``);
- ``_chain``: the fallback chain; ``_hedge``: the hedged race;
- ``_jobs``: the job waiter (push channel or polling, give-up, look-then-cancel);
- ``_watch``: the watcher of jobs left running;
- ``_limits``: limits per account; ``_breaker``: circuit breakers;
- ``_prices``: prices and spend caps; ``_latency``: learned latencies;
- ``_state``: the router's state interface (``RouterState``: leased slots, window
  counters, pauses, spend holds, breaker records, samples) and its in-memory store;
- ``_metadata``: execution metadata; ``_snapshot``: ``Router.snapshot()``'s rows;
- ``_arguments``: checks of the public functions' arguments;
- ``_catalog``: the model and provider tables of the CLI and the docs.

What it may import: compat (handler attempts), the providers, the engine and the data
layer. The ``Router`` itself (``tarash.tarash_gateway.router``) is public and sits above
it.
"""

from __future__ import annotations

__all__: list[str] = []
