"""The worker's bearer token: with ``VIGIL_WORKER_TOKEN`` (or ``VIGIL_WORKER_TOKEN_FILE``) set, every request
to the worker's web server but ``/healthz`` must carry ``Authorization: Bearer <token>``.

One aiohttp middleware on Faust's web application does the check, so it covers every page there is: ours
(``/metrics``, ``/alerts``, ``/windows``, ``/surveillance``, ``/beds``, ``/beds/suggest``), Faust's own
(``/``, ``/router``, ``/table``) and any page added later. ``/healthz`` stays open for liveness probes (the
compose healthcheck, process supervisors); it tells which partitions a worker holds and whether one is
stalled, nothing of the city. Clients build the header with ``Settings.worker_headers``.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

OPEN_PATHS = frozenset({"/healthz"})
REFUSAL = (
    "this endpoint needs `Authorization: Bearer <token>`: the worker's token is set "
    "(VIGIL_WORKER_TOKEN or VIGIL_WORKER_TOKEN_FILE)"
)


def authorized(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header value carries ``token`` as a bearer token. The scheme is
    case-insensitive (RFC 7235); the token is compared in constant time, so a wrong guess's answer time
    does not tell how much of it was right."""
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def middlewares(token: str | None) -> list[Middleware]:
    """The middlewares of the worker's web application: the token check when there is a token, else none
    (the endpoints answer as they always did)."""
    if not token:
        return []

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        # request.path is the decoded path the router matches too: /%68ealthz is /healthz for both
        if request.path in OPEN_PATHS or authorized(request.headers.get("Authorization"), token):
            return await handler(request)
        return web.json_response(
            {"error": REFUSAL}, status=401, headers={"WWW-Authenticate": 'Bearer realm="vigil-worker"'}
        )

    return [require_token]
