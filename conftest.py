"""Collects the Python examples of README.md and docs/ as tests (see tests/docs/_examples.py)."""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import Producer

from tests.docs._examples import PAGES
from tests.docs._examples import pytest_collect_file as pytest_collect_file


def pytest_unconfigure() -> None:
    """Stop the emulator the pages ran against, if any page started it."""
    PAGES.close()


class _PagesTogether(LoadScopeScheduling):
    """pytest-xdist's ``load``, except that a docs page's examples go to one worker, in
    order: they share one namespace (an import in one example serves the next).

    xdist's own ``loadgroup`` would do it from an ``xdist_group`` mark, but with pytest 9
    its renaming of the grouped tests' ids no longer takes, so the scheduler says it here.
    """

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return path if path.endswith(".md") else nodeid


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadScopeScheduling | None:
    """With ``--dist load`` (pyproject's addopts): :class:`_PagesTogether`."""
    if config.getvalue("dist") != "load":
        return None
    return _PagesTogether(config, log)
