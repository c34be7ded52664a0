"""Error reports to Sentry (optional, by DSN), with personal data scrubbed before anything leaves."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sentry_sdk

from answerdesk import __version__
from answerdesk.config import Settings

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Headers that carry credentials or identify a person; their values never leave.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-csrf-token",
        "x-conversation-token",
        "x-api-key",
    }
)
# Query parameters that are credentials (the widget's WebSocket carries `key` and `token`).
SECRET_PARAM_NAMES = ("token", "key", "secret", "password", "auth", "session", "csrf", "signature", "code")
SECRET_PARAMS = re.compile("|".join(SECRET_PARAM_NAMES), re.IGNORECASE)
FILTERED = "[Filtered]"


def configure_error_reporting(settings: Settings) -> None:
    """Turns Sentry on when ANSWERDESK_SENTRY_DSN is set (once per process: the server and each worker)."""
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return
    init_error_reporting(
        settings.sentry_dsn.get_secret_value(),
        environment=settings.env,
        traces_sample_rate=settings.sentry_traces_sample_rate,
    )


def init_error_reporting(dsn: str, *, environment: str, traces_sample_rate: float = 0.0) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=f"answerdesk@{__version__}",
        # What integrations may collect (sentry-sdk's successor of send_default_pii=False, stricter): no user,
        # cookies, bodies (customer messages, documents, passwords), frame locals (the same), LLM prompts or
        # SQL parameters; credential headers and query parameters filtered. scrub_event checks it all again.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "denylist", "terms": sorted(SECRET_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "denylist", "terms": list(SECRET_PARAM_NAMES)},
            "gen_ai": {"inputs": False, "outputs": False},
            "database_query_data": False,
            "stack_frame_variables": False,
        },
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
    )


def report_exception(exc: BaseException) -> None:
    """Sends an error that was handled (a failed background job); nothing happens without a DSN."""
    sentry_sdk.capture_exception(exc)


def scrub_event(event: Any, _hint: Any) -> Any:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("env", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                k: FILTERED if k.lower() in SECRET_HEADERS else v for k, v in headers.items()
            }
        if isinstance(request.get("query_string"), str):
            request["query_string"] = _scrub_query(request["query_string"])
        if isinstance(request.get("url"), str):
            parts = urlsplit(request["url"])
            request["url"] = urlunsplit(parts._replace(query=_scrub_query(parts.query)))
    event.pop("user", None)
    return _scrub_text(event)


def scrub_breadcrumb(crumb: Any, _hint: Any) -> Any:
    # HTTP breadcrumbs of outgoing calls (LLM, WHMCS) carry URLs; their data carries bodies and headers.
    data = crumb.get("data")
    if isinstance(data, dict) and isinstance(data.get("url"), str):
        parts = urlsplit(data["url"])
        crumb["data"] = {"url": urlunsplit(parts._replace(query="")), "method": data.get("method")}
        if "status_code" in data:
            crumb["data"]["status_code"] = data["status_code"]
    elif data is not None:
        crumb.pop("data", None)
    return _scrub_text(crumb)


def _scrub_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, FILTERED if SECRET_PARAMS.search(k) else v) for k, v in pairs])


def _scrub_text(value: Any) -> Any:
    """E-mail addresses out of every string of the event (exception messages, log lines, URLs)."""
    if isinstance(value, str):
        return EMAIL.sub("[email]", value)
    if isinstance(value, dict):
        return {k: _scrub_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_text(v) for v in value]
    return value
