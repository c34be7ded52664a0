"""The widget script as served: its bytes, gzipped bytes and a content version for cache-busting URLs."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class WidgetScript:
    raw: bytes
    gzipped: bytes
    version: str  # first 12 hex digits of the SHA-256 of the script: changes whenever the script does

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def build_script(raw: bytes) -> WidgetScript:
    # mtime=0 keeps the gzipped bytes identical across restarts and processes behind one load balancer.
    return WidgetScript(
        raw=raw,
        gzipped=gzip.compress(raw, compresslevel=9, mtime=0),
        version=hashlib.sha256(raw).hexdigest()[:12],
    )


@cache
def widget_script() -> WidgetScript:
    """Read once per process: the script is package data and does not change while the process runs."""
    raw = (resources.files("answerdesk.widget") / "static" / "widget.js").read_bytes()
    return build_script(raw)
