"""Loopback S3 helpers for the storage tests: clients, buckets, a strict fake S3 server, a closed port."""

from __future__ import annotations

import base64
import hashlib
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from tests.fakes.s3 import (  # noqa: F401 - raw_s3_client and new_bucket are used through this module
    BOTO_SESSION,
    FAKE_ACCESS_KEY_ID,
    FAKE_SECRET_ACCESS_KEY,
    REGION,
    new_bucket,
    raw_s3_client,
)

from answerdesk.integrations.storage import S3Storage


def seed_moto_bucket(bucket: str, keys: list[str]) -> None:
    """Store one tiny object per key straight into moto's in-process backend.

    Only for arranging large listings: 1,050 PUTs over HTTP cost seconds, and the test is about
    listing and deleting, which still go over HTTP.
    """
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for key in keys:
        backend.put_object(bucket, key, b"x")


def make_s3_storage(endpoint: str, bucket: str, **overrides: Any) -> S3Storage:
    options: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region": REGION,
        "access_key_id": FAKE_ACCESS_KEY_ID,
        "secret_access_key": FAKE_SECRET_ACCESS_KEY,
        "addressing_style": "path",
        "connect_timeout": 2.0,
        "read_timeout": 10.0,
        "max_attempts": 1,
        "session": BOTO_SESSION,
    }
    options.update(overrides)
    return S3Storage(bucket, **options)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FakeS3Server(ThreadingHTTPServer):
    """A tiny S3 stand-in for what moto does not do: refuse credentials, demand Content-MD5.

    With ``error`` set, every request fails with that (status, code). Otherwise it lists ``keys``
    and serves DeleteObjects only when Content-MD5 is present and right, like several
    S3-compatible services do; keys in ``undeletable`` are reported back as per-key errors.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeS3Handler)
        self.error: tuple[int, str] | None = None
        self.keys: set[str] = set()
        self.undeletable: set[str] = set()
        self.delete_headers: list[dict[str, str]] = []

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _FakeS3Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that botocore's "Expect: 100-continue" on uploads is answered at once.
    protocol_version = "HTTP/1.1"
    server: FakeS3Server
    request_body = b""

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_HEAD(self) -> None:
        self._answer(lambda: self._reply(404, b""))

    def do_GET(self) -> None:
        self._answer(self._list)

    def do_PUT(self) -> None:
        self._answer(lambda: self._reply(200, b""))

    def do_DELETE(self) -> None:
        self._answer(lambda: self._reply(204, b""))

    def do_POST(self) -> None:
        self._answer(self._delete_objects)

    def _answer(self, handle: Callable[[], None]) -> None:
        self.request_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.error is None:
            handle()
            return
        status, code = self.server.error
        self._reply(status, _error_xml(code, "Refused by the fake"))

    def _list(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        prefix = query.get("prefix", [""])[0]
        contents = "".join(
            f"<Contents><Key>{key}</Key><Size>1</Size></Contents>"
            for key in sorted(self.server.keys)
            if key.startswith(prefix)
        )
        listing = f"<ListBucketResult><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
        self._reply(200, listing.encode())

    def _delete_objects(self) -> None:
        self.server.delete_headers.append(dict(self.headers))
        expected = base64.b64encode(hashlib.md5(self.request_body).digest()).decode()
        if self.headers.get("Content-MD5") != expected:
            message = "Missing required header for this request: Content-MD5"
            self._reply(400, _error_xml("InvalidRequest", message))
            return
        document = ET.fromstring(self.request_body)
        keys = {element.text or "" for element in document.iter() if element.tag.endswith("Key")}
        refused = keys & self.server.undeletable
        self.server.keys.difference_update(keys - refused)
        errors = "".join(
            f"<Error><Key>{key}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            for key in sorted(refused)
        )
        self._reply(200, f"<DeleteResult>{errors}</DeleteResult>".encode())

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _error_xml(code: str, message: str) -> bytes:
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
