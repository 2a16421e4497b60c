"""``python -m tarash.tarash_gateway.cli``: the ``tarash`` command without its script."""

from __future__ import annotations

from tarash.tarash_gateway.cli import main

if __name__ == "__main__":
    main()
