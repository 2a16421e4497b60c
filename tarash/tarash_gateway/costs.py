"""The published repository's cost-estimate module: ``estimate_cost`` and ``CostEstimate``
at the path its users import them from (both are also at the package root).

tarash prices from the router's price table (see docs/routing.md), not from a table of
its own here.
"""

from __future__ import annotations

from tarash.tarash_gateway.api import estimate_cost
from tarash.tarash_gateway.models import CostEstimate

__all__ = ["CostEstimate", "estimate_cost"]
