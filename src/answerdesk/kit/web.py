"""HTTP plumbing shared by every router: error rendering, body-size limit, request ids."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from answerdesk.kit.errors import AppError, TooManyRequests, ValidationFailed, error_body

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
REQUEST_ID_SCOPE_KEY = "answerdesk.request_id"
log = structlog.get_logger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def wants_json(request: Request) -> bool:
    """API calls get JSON errors; admin pages render their own."""
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def app_error_response(exc: AppError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


HtmlErrorRenderer = Callable[[Request, AppError], Response]


def install_error_handlers(
    app: FastAPI,
    *,
    html_paths: Callable[[str], bool] | None = None,
    html_renderer: HtmlErrorRenderer | None = None,
) -> None:
    """JSON errors everywhere, except pages (html_paths) which the html_renderer draws."""

    def as_html(request: Request) -> bool:
        return html_renderer is not None and html_paths is not None and html_paths(request.url.path)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Any:
        if as_html(request):
            assert html_renderer is not None
            return html_renderer(request, exc)
        return app_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(error_body("malformed_json", "The request body is not valid JSON."), 400)
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in errors
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        if as_html(request):
            assert html_renderer is not None
            return html_renderer(request, ValidationFailed(message, details=details))
        return JSONResponse(error_body("validation_error", message, details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if as_html(request):
            assert html_renderer is not None
            err = AppError(message, code=code)
            err.status_code = exc.status_code
            return html_renderer(request, err)
        return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        # This runs outside RequestIdMiddleware (its context is gone by now); the id stays in the scope.
        rid = request.scope.get(REQUEST_ID_SCOPE_KEY) or request_id_var.get()
        log.exception("unhandled_error", path=request.url.path, request_id=rid)
        return JSONResponse(
            error_body("internal_error", f"Internal error (request id {rid})."),
            500,
            headers={"X-Request-ID": rid},
        )


class BodySizeLimitMiddleware:
    """Refuses bodies over a limit with 413, by header and while streaming (no Content-Length)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        upload_max_bytes: int,
        html_paths: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes
        self.html_paths = html_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        html = self.html_paths is not None and self.html_paths(scope.get("path", ""))
        headers = dict(scope["headers"])
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        limit = self.upload_max_bytes if ctype.startswith("multipart/") else self.max_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit, html)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        replaced = False

        async def guarded_send(message: Message) -> None:
            # Whatever the app answers to a truncated body (a parse error, usually) becomes the 413.
            nonlocal replaced
            if too_large:
                if not replaced and message["type"] == "http.response.start":
                    replaced = True
                    await self._reject(send, limit, html)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
            if not replaced:
                await self._reject(send, limit, html)

    @staticmethod
    async def _reject(send: Send, limit: int, html: bool) -> None:
        message = f"The request is larger than {limit / 1_048_576:.1f} MB."
        body: Response = (
            HTMLResponse(
                f"<!doctype html><meta charset=utf-8><title>Too large</title><main style='font:16px "
                f"system-ui;margin:3rem auto;max-width:36rem'><h1>Upload too large</h1><p>{message} "
                "Upload fewer or smaller files at once.</p><p><a href='javascript:history.back()'>"
                "Back</a></p></main>",
                413,
            )
            if html
            else JSONResponse(error_body("payload_too_large", message), 413)
        )
        await body({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


class RequestIdMiddleware:
    """Gives every request an id (or keeps the caller's), logs it, and returns it as X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        rid = incoming if incoming.isprintable() and incoming else uuid.uuid4().hex
        token = request_id_var.set(rid)
        scope[REQUEST_ID_SCOPE_KEY] = rid
        structlog.contextvars.bind_contextvars(request_id=rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)
