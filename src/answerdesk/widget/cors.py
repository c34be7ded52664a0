"""CORS for the public chat and widget API: browsers on a customer's site may call it with a public key.

Preflights are answered for any origin (they carry no credentials, so nothing can be checked yet); an actual
response is readable by the page only when its key is allowed from that origin. Whether it is allowed is
decided by ApiKeyService.authenticate, the same check the API itself makes.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from answerdesk.auth.service import ApiKeyService, OrganizationSuspended
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import AppError
from answerdesk.kit.security import hash_token
from answerdesk.runtime import Runtime

PUBLIC_PREFIXES = ("/api/v1/conversations", "/api/v1/widget/")
PUBLIC_PATHS = ("/api/v1/chat/stats",)
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Conversation-Token"
EXPOSED_HEADERS = "Retry-After, X-Request-ID"
PREFLIGHT_MAX_AGE = "600"
# A streamed answer or a poll every few seconds would otherwise look the key up twice per request.
ALLOWED_CACHE_SECONDS = 30.0
ALLOWED_CACHE_SIZE = 4096


def is_public_api(path: str) -> bool:
    return (
        path == PUBLIC_PREFIXES[0]
        or path in PUBLIC_PATHS
        or path.startswith((PUBLIC_PREFIXES[0] + "/", PUBLIC_PREFIXES[1]))
    )


class PublicApiCorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._allowed: OrderedDict[tuple[str, str], float] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_public_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None and headers.get("sec-fetch-site") == "same-origin":
            # Browsers leave Origin out of same-origin GETs (the Fetch standard), e.g. the widget on /demo.
            # Sec-Fetch-Site cannot be set by a page, so the page's origin is this server's own.
            origin = f"{scope['scheme']}://{headers.get('host', '')}"
            scope = {**scope, "headers": [*scope["headers"], (b"origin", origin.encode("latin-1"))]}
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin)(scope, receive, send)
            return
        if not await self._key_allows(scope, headers, origin):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def _preflight(origin: str) -> Response:
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                "Vary": "Origin",
            },
        )

    async def _key_allows(self, scope: Scope, headers: Headers, origin: str) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        cache_key = (hash_token(token), origin)
        now = time.monotonic()
        if self._allowed.get(cache_key, 0.0) > now:
            return True
        runtime: Runtime = scope["app"].state.runtime
        try:
            async with session_scope(runtime.sessionmaker) as db:
                await ApiKeyService(db).authenticate(token, origin=origin)
        except OrganizationSuspended:
            pass  # the key is allowed here: the page may read why the chat is off
        except AppError:
            return False
        self._allowed[cache_key] = now + ALLOWED_CACHE_SECONDS
        self._allowed.move_to_end(cache_key)
        while len(self._allowed) > ALLOWED_CACHE_SIZE:
            self._allowed.popitem(last=False)
        return True
