"""Widget script size as browsers download it: raw and gzipped bytes (target: under 30 KB gzipped).

Run: `PYTHONPATH=. .venv/bin/python bench/widget_size.py`
"""

from __future__ import annotations

import gzip

from answerdesk.widget.assets import widget_script

TARGET_GZIPPED_BYTES = 30 * 1024


def main() -> None:
    script = widget_script()
    served = len(script.gzipped)
    print(f"widget.js version {script.version}")
    print(f"  raw:                {len(script.raw):>7,} bytes")
    share = served / TARGET_GZIPPED_BYTES
    print(f"  gzip -9 (as served): {served:>7,} bytes  ({share:.0%} of the 30 KB target)")
    print(f"  gzip -6:            {len(gzip.compress(script.raw, compresslevel=6, mtime=0)):>7,} bytes")


if __name__ == "__main__":
    main()
