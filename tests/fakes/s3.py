"""moto's S3 server, for real, on a free loopback port: the S3 that storage tests talk to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

FAKE_ACCESS_KEY_ID = "AKIAFAKEFAKEFAKE0000"
FAKE_SECRET_ACCESS_KEY = "fake-secret-access-key-for-tests"
REGION = "us-east-1"
APP_PREFIX = "answerdesk-test"
# Shared so each test's client does not parse the S3 model again (~0.3 s of CPU each); tests build
# their clients on the event-loop thread only.
BOTO_SESSION = boto3.session.Session()


@contextmanager
def moto_server(port: int = 0) -> Iterator[str]:
    """Yields the endpoint URL of a running moto S3 server (default: on a free port); stops it afterwards."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def raw_s3_client(endpoint: str) -> Any:
    """A plain boto3 client for arranging and inspecting buckets behind Answerdesk's back."""
    return BOTO_SESSION.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": "path"}),
    )


def new_bucket(raw_client: Any) -> str:
    """Create a bucket with a unique name, so tests never see each other's objects."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    raw_client.create_bucket(Bucket=name)
    return name


def app_s3_settings(endpoint: str, bucket: str) -> dict[str, object]:
    """Answerdesk's settings for keeping its files in `bucket` (under APP_PREFIX) on this S3."""
    return {
        "storage_backend": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_region": REGION,
        "s3_access_key_id": FAKE_ACCESS_KEY_ID,
        "s3_secret_access_key": FAKE_SECRET_ACCESS_KEY,
        "s3_prefix": APP_PREFIX,
        "s3_addressing_style": "path",
    }
