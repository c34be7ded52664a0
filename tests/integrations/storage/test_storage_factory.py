"""build_storage() turns plain settings into the right backend, or refuses them clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from answerdesk.integrations.storage import LocalStorage, S3Storage, StorageConfigError, build_storage


def test_local_backend_uses_the_given_root(tmp_path: Path) -> None:
    storage = build_storage("local", local_root=tmp_path / "files")

    assert isinstance(storage, LocalStorage)
    assert storage.describe() == f"local:{tmp_path / 'files'}"


def test_s3_backend_passes_the_connection_settings() -> None:
    storage = build_storage(
        "s3",
        s3_bucket="answerdesk",
        s3_endpoint_url="https://fsn1.your-objectstorage.com",
        s3_region="fsn1",
        s3_access_key_id="AKIAFAKE",
        s3_secret_access_key="fake-secret",
        s3_prefix="prod",
        s3_addressing_style="path",
    )

    assert isinstance(storage, S3Storage)
    assert storage.describe() == "s3://answerdesk/prod/ @ https://fsn1.your-objectstorage.com (fsn1)"


def test_empty_strings_from_the_environment_mean_unset() -> None:
    storage = build_storage(
        "s3",
        s3_bucket="answerdesk",
        s3_endpoint_url="",
        s3_region="eu-central-1",
        s3_access_key_id="",
        s3_secret_access_key="",
    )

    assert storage.describe() == "s3://answerdesk @ https://s3.eu-central-1.amazonaws.com (eu-central-1)"


@pytest.mark.parametrize(
    ("backend", "options", "message"),
    [
        ("local", {}, "needs a root folder"),
        ("s3", {}, "needs a bucket"),
        ("s3", {"s3_bucket": ""}, "needs a bucket"),
        ("ftp", {}, "Unknown storage backend 'ftp'"),
    ],
)
def test_incomplete_settings_are_refused(backend: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(StorageConfigError, match=message):
        build_storage(backend, **options)
