"""The widget script stays small: customers load it on every page of their sites."""

from __future__ import annotations

import gzip

from answerdesk.widget.assets import widget_script

GZIP_BUDGET_BYTES = 30 * 1024


def test_widget_script_is_under_the_gzip_budget() -> None:
    script = widget_script()
    assert len(script.gzipped) < GZIP_BUDGET_BYTES, f"{len(script.gzipped)} bytes gzipped"
    assert gzip.decompress(script.gzipped) == script.raw


def test_widget_script_defines_one_global_and_never_writes_html() -> None:
    source = widget_script().raw.decode()
    # Message text reaches the page only as text nodes; no HTML parsing of anything we draw.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, sink
    assert source.count("window.AnswerdeskWidget =") == 1
