"""Collects the Python examples of README.md and docs/ as tests (see tests/docs/_examples.py)."""

from __future__ import annotations

from tests.docs._examples import PAGES
from tests.docs._examples import pytest_collect_file as pytest_collect_file


def pytest_unconfigure() -> None:
    """Stop the emulator the pages ran against, if any page started it."""
    PAGES.close()
