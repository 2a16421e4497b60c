"""The engine: how a request travels, whatever the provider.

What is in it:

- ``_http``: pooled httpx clients, ``send`` with the retry policy (stamina, honouring
  ``Retry-After``) and the translation of transport errors;
- ``_read_pauses``: the pauses of reads after a 429 (a router's, over its state's pause
  store; the process's for a client outside any router), the in-memory pause store;
- ``_sse``: the server-sent events reader;
- ``_polling``: ``JobState``, ``JobSnapshot`` and ``poll_until_done``;
- ``_completion``: work that must finish under cancellation (``run_to_completion``,
  ``submit_to_completion``);
- ``_task_groups``: task groups whose lone error is raised as itself;
- ``_sync``: the one portal behind every sync function (``run_sync``);
- ``_redact``: secret scrubbing;
- ``_tracing``: OpenTelemetry spans;
- ``_form``: multipart bodies;
- ``_progress``: delivering progress to the user's callback (``deliver_progress``,
  ``CallbackError``).

What it may import: the data layer (``models``, ``errors``, ``_validate``,
``_retry_after``, ...) and the engine itself; never providers, routing, batch, compat or
the public face.
"""

from __future__ import annotations

__all__: list[str] = []
