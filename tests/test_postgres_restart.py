"""A PostgreSQL restart is survived without restarting Answerdesk: pooled connections that died are replaced.

A private cluster (initdb, pg_ctl; a temporary directory, a free port), never the shared one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from answerdesk.kit.migrate import upgrade_to_head
from tests.conftest import app_client, make_settings, started_app
from tests.factories import bearer, make_key, make_org
from tests.live import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
BIN = BIN_DIRS[-1] if BIN_DIRS else None

pytestmark = pytest.mark.skipif(
    BIN is None or not (BIN / "initdb").exists(),
    reason="PostgreSQL server binaries (initdb, pg_ctl) not found",
)


class PrivateCluster:
    def __init__(self) -> None:
        assert BIN is not None
        # initdb refuses to run as root; the cluster then belongs to the postgres user, in a directory it
        # can reach (pytest's tmp_path is private to root).
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.root = Path(tempfile.mkdtemp(prefix="answerdesk-pg-", dir="/tmp"))
        self.root.chmod(0o755)
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def pg_ctl(self, command: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            *extra,
            command,
        )

    def remove(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self.as_user, str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    pg = PrivateCluster()
    try:
        pg.init()
        pg.pg_ctl("start")
        yield pg
    finally:
        pg.remove()


async def test_requests_succeed_after_a_restart_and_a_stop_is_a_503(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    await asyncio.to_thread(upgrade_to_head, cluster.url)
    async with (
        started_app(make_settings(cluster.url, tmp_path / "data")) as application,
        app_client(application) as client,
    ):
        async with application.state.runtime.sessionmaker() as db:
            org = await make_org(db)
            headers = bearer(await make_key(db, org))

        async def start_conversations(n: int) -> list[int]:
            # Concurrent, so that several pooled connections exist (and all die with the restart).
            responses = await asyncio.gather(
                *(client.post("/api/v1/conversations", headers=headers, json={}) for _ in range(n))
            )
            return [r.status_code for r in responses]

        assert await start_conversations(5) == [201] * 5

        await asyncio.to_thread(cluster.pg_ctl, "restart", "-m", "fast")
        assert await start_conversations(5) == [201] * 5
        assert (await client.get("/readyz")).status_code == 200

        # While it is down: a 503 with the error shape, not a 500; then back without a restart of ours.
        await asyncio.to_thread(cluster.pg_ctl, "stop", "-m", "fast")
        down = await client.post("/api/v1/conversations", headers=headers, json={})
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "unavailable"
        await asyncio.to_thread(cluster.pg_ctl, "start")
        assert await start_conversations(3) == [201] * 3
