"""Developer sessions: tests, lint, typecheck, docs, bench."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

COVERAGE_FLOOR = 93
"""Branch coverage may only go up: raise this when the suite covers more."""


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, emulator and integration tests with a branch-coverage floor."""
    session.install("-e", ".[dev]")
    # pytest-cov measures inside the xdist workers (`coverage run` saw only the controller)
    # and combines their data; the report below reads it.
    session.run("pytest", "--cov", "--cov-report=", *session.posargs)
    session.run("coverage", "report", f"--fail-under={COVERAGE_FLOOR}")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the rooms' import contract (lint-imports)."""
    session.install("ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # Reads the source from the working directory (pyproject's [tool.importlinter]).
    session.run("lint-imports", "--no-cache")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the library."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "tarash")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation with --strict."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "-d", "site")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the scale benchmarks against the emulator."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "benchmarks.concurrent_jobs", *session.posargs)
