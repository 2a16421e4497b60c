"""Collects the Python examples of README.md and docs/ as tests (see tests/docs/_examples.py)."""

from __future__ import annotations

from tests.docs._examples import _tarash_docs_emulator as _tarash_docs_emulator
from tests.docs._examples import _tarash_docs_page as _tarash_docs_page
from tests.docs._examples import pytest_collect_file as pytest_collect_file
