"""moto's S3 server, for real, on a free loopback port: the S3 that storage tests talk to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer


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
