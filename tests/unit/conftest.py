"""Unit-test fixtures: the toy provider is registered for every unit test."""

from __future__ import annotations

from tests.unit import fake_provider  # noqa: F401 - registers the "fake" provider
