"""Fixtures for the compat suite: code written against the published docs, run on ours.

Every test here is written as a user of the published tarash-gateway 0.1.0 writes it (names,
keywords and defaults from its documentation, recorded in ../shared/PUBLISHED_API.md). Imports
of the published modules happen inside the tests, so a missing module fails the tests that need
it rather than the whole file's collection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import respx


@pytest.fixture
def fal_router() -> Iterator[respx.MockRouter]:
    """A respx router for the fal queue; any request it has no route for fails the test."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def replicate_router() -> Iterator[respx.MockRouter]:
    """A respx router for Replicate's API; any request it has no route for fails the test."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def no_http() -> Iterator[respx.MockRouter]:
    """A respx router with no routes: any HTTP request made through httpx fails the test."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def provider_name() -> str:
    """A fresh hyphenated provider name, so registrations never collide between tests."""
    return f"my-provider-{uuid.uuid4().hex[:8]}"
