"""The I/O behind a response's ``save()``, which the data models do not do themselves.

The data layer (models, errors, media types) does no I/O and imports nothing above it, yet
``VideoGenerationResponse.save()`` downloads, its sync twin runs on the private loop, and a
response unpickled without its key needs the provider's download headers again. The modules
that own those install them here when they load (a seam, as ``logging`` handlers or codec
registries are installed): :mod:`tarash.tarash_gateway.media` the download and the sync
portal, :mod:`tarash.tarash_gateway.providers` the download headers. The package's
``__init__`` loads both (through :mod:`~tarash.tarash_gateway.api`), and any import of a
submodule runs it first, so they are in place before a response exists
(``tests/unit/test_import_layers.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

from pydantic import SecretStr

from tarash.tarash_gateway.errors import TarashException

__all__ = ["install_response_io", "response_io"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


class SaveMedia(Protocol):
    """Writes a result (bytes, data URI or URL) to a path: ``media.save_media``."""

    def __call__(
        self,
        media: str | bytes,
        path: Path,
        *,
        headers: Mapping[str, SecretStr] | None = ...,
        provider: str | None = ...,
        model: str | None = ...,
    ) -> Awaitable[Path]: ...


class RunSync(Protocol):
    """Runs an async function on the private loop from sync code: ``_sync.run_sync``."""

    def __call__(
        self, func: Callable[_P, Awaitable[_T]], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T: ...


class DownloadHeadersOf(Protocol):
    """The ``download_headers`` method of a client of ``provider`` made again for ``url``
    (its key read from the environment): what a pickled response's download needs."""

    def __call__(
        self, provider: str | None, model: str | None, url: str
    ) -> Callable[[str], dict[str, SecretStr]]: ...


class _ResponseIO:
    """The installed I/O; each part raises a TarashException until its owner installs it."""

    def __init__(self) -> None:
        self._save_media: SaveMedia | None = None
        self._run_sync: RunSync | None = None
        self._download_headers_of: DownloadHeadersOf | None = None

    @property
    def save_media(self) -> SaveMedia:
        return self._installed(self._save_media, "tarash.tarash_gateway.media")

    @property
    def run_sync(self) -> RunSync:
        return self._installed(self._run_sync, "tarash.tarash_gateway.media")

    @property
    def download_headers_of(self) -> DownloadHeadersOf:
        return self._installed(self._download_headers_of, "tarash.tarash_gateway.providers")

    @staticmethod
    def _installed(part: _T | None, owner: str) -> _T:
        if part is None:
            # Not reached through the package (its __init__ loads both owners first).
            raise TarashException(f"saving a response needs {owner}, which is not loaded")
        return part


response_io = _ResponseIO()
"""What a response's ``save()`` calls for its I/O."""


def install_response_io(
    *,
    save_media: SaveMedia | None = None,
    run_sync: RunSync | None = None,
    download_headers_of: DownloadHeadersOf | None = None,
) -> None:
    """Install the parts given (the others stay as they are); called by their owners."""
    if save_media is not None:
        response_io._save_media = save_media
    if run_sync is not None:
        response_io._run_sync = run_sync
    if download_headers_of is not None:
        response_io._download_headers_of = download_headers_of
