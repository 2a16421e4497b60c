"""The batch: many generations at once, resumable after a crash.

What is in it:

- ``_batch``: ``generate_videos_async`` / ``generate_images_async`` (and their sync
  twins), ``BatchRun``, ``BatchEvent``, ``BatchResult``;
- ``_batch_run``: its one seam into the router;
- ``_batch_codec``: the ledger's JSON codec;
- ``_ledger``: the ``Ledger`` protocol and ``SqliteLedger``.

What it may import: the rooms below it (routing, compat, providers, engine, data); and,
for now, the public ``router``'s ``default_router`` (the layer contract's one ignored
import). The public names are re-exported by ``tarash.tarash_gateway``.
"""

from __future__ import annotations

__all__: list[str] = []
