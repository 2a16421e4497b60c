"""A router keeps its limit rows per account: ``provider[/model]@<fingerprint>``."""

from __future__ import annotations

from collections.abc import Mapping

from tarash.tarash_gateway.routing._snapshot import LimitSnapshot


def account_rows(limits: Mapping[str, LimitSnapshot], key: str) -> list[LimitSnapshot]:
    """The rows of ``key`` (``"provider"`` or ``"provider/model"``), one per account."""
    return [row for name, row in limits.items() if name.split("@", 1)[0] == key]


def account_row(limits: Mapping[str, LimitSnapshot], key: str) -> LimitSnapshot:
    """The one row of ``key``: the test ran it with a single account."""
    rows = account_rows(limits, key)
    assert len(rows) == 1, f"{key!r} has {len(rows)} rows in {sorted(limits)}"
    return rows[0]
