"""The ASGI app: one mount per provider protocol, plus the generated media.

Adding a provider is one module exposing ``PROVIDER`` and one line in :data:`PROVIDERS`
(Google's two protocols share one mount, whose ``PROVIDER`` is ``google_vertex``'s).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from tarash.emulator import (
    azure_openai,
    fal,
    google_vertex,
    openai,
    openrouter,
    replicate,
    runway,
    stability,
    xai,
)
from tarash.emulator._wire import EmulatorContext, Provider, json_response

#: Every provider the emulator serves, by name (which is also its mount path).
PROVIDERS: dict[str, Provider] = {
    provider.name: provider
    for provider in (
        fal.PROVIDER,
        replicate.PROVIDER,
        stability.PROVIDER,
        openai.PROVIDER,
        azure_openai.PROVIDER,
        runway.PROVIDER,
        google_vertex.PROVIDER,
        xai.PROVIDER,
        openrouter.PROVIDER,
    )
}


def build_app(ctx: EmulatorContext) -> Starlette:
    """Build the emulator's ASGI app.

    Args:
        ctx: The shared job store, fault plan, media registry and settings.

    Returns:
        A Starlette app with ``/{provider}/...`` mounts and ``/media/{file}``.
    """

    async def media(request: Request) -> Response:
        # Providers serve outputs without auth (fal CDN; Replicate's delivery URLs take it
        # optionally), so this route ignores Authorization.
        found = ctx.media.get(request.path_params["file_name"])
        if found is None:
            return json_response({"detail": "Not found"}, 404)
        return Response(found.content(), media_type=found.content_type)

    async def index(request: Request) -> Response:
        origin = ctx.origin(request)
        return json_response({"providers": {name: f"{origin}/{name}" for name in PROVIDERS}})

    routes: list[BaseRoute] = [
        Route("/", index, methods=["GET"]),
        Route("/media/{file_name}", media, methods=["GET", "HEAD"]),
    ]
    routes += [
        Mount(f"/{name}", routes=provider.build_routes(ctx)) for name, provider in PROVIDERS.items()
    ]
    return Starlette(routes=routes)
