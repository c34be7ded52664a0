"""Rough figures: the landing page, and the operator console over 300 organizations (SQLite, in-process).

PYTHONPATH=src:. python bench/operator_console.py
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from pathlib import Path

import httpx
from tests.conftest import make_settings, started_app
from tests.factories import PASSWORD

from answerdesk.auth.service import MemberService
from answerdesk.kit.migrate import upgrade_to_head
from answerdesk.tenants.service import OrganizationService

ORGANIZATIONS = 300


def ms(samples: list[float], q: float) -> float:
    return sorted(samples)[int(q * (len(samples) - 1))] * 1000


async def main(url: str, data_dir: Path) -> None:
    async with started_app(make_settings(url, data_dir, signup="open")) as app:
        async with app.state.runtime.sessionmaker() as db:
            for i in range(ORGANIZATIONS):
                await OrganizationService(db).create(f"Org {i}", f"org-{i}")
            await MemberService(db).create_operator("ops@bench.example", password=PASSWORD)
            await db.commit()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            times = []
            for _ in range(100):
                start = time.perf_counter()
                page = await c.get("/")
                times.append(time.perf_counter() - start)
            css = len((await c.get("/static/landing.css")).content)
            pico = len((await c.get("/static/vendor/pico.min.css")).content)
            print(f"landing page: {len(page.content)} B HTML + {css} B landing.css + {pico} B pico")
            print(f"  p50 {ms(times, 0.5):.1f} ms, p95 {ms(times, 0.95):.1f} ms")
            form = await c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            login = {"email": "ops@bench.example", "password": PASSWORD, "csrf_token": token.group(1)}
            await c.post("/login", data=login)
            times = []
            for _ in range(10):
                start = time.perf_counter()
                console = await c.get("/operator")
                times.append(time.perf_counter() - start)
            assert console.status_code == 200
            print(f"operator console, {ORGANIZATIONS} organizations: {len(console.content)} B")
            print(f"  p50 {ms(times, 0.5):.0f} ms, max {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp())
    database = f"sqlite+aiosqlite:///{folder}/bench.db"
    upgrade_to_head(database)
    asyncio.run(main(database, folder / "data"))
