"""What only the local-folder backend has to guarantee: staying inside its root, atomic files."""

from __future__ import annotations

from pathlib import Path

import pytest

from answerdesk.integrations.storage import InvalidKey, LocalStorage, StorageError


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


async def test_keys_map_to_files_under_the_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")

    await storage.put("org/1/documents/2/original.pdf", b"%PDF")

    assert (tmp_path / "files/org/1/documents/2/original.pdf").read_bytes() == b"%PDF"


async def test_the_root_is_created_at_start_up(tmp_path: Path) -> None:
    LocalStorage(tmp_path / "data" / "files")

    assert (tmp_path / "data" / "files").is_dir()


async def test_a_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "files").write_text("not a folder")

    with pytest.raises(StorageError, match="files"):
        LocalStorage(tmp_path / "files")


@pytest.mark.parametrize("key", ["../escaped.txt", "org/../../escaped.txt", "/tmp/escaped.txt"])
async def test_path_traversal_is_refused_and_writes_nothing(tmp_path: Path, key: str) -> None:
    root = tmp_path / "data" / "files"
    storage = LocalStorage(root)

    with pytest.raises(InvalidKey, match="Invalid storage key"):
        await storage.put(key, b"escaped")

    assert files_under(tmp_path) == []


async def test_reading_outside_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    storage = LocalStorage(tmp_path / "files")

    with pytest.raises(InvalidKey):
        await storage.get("../secret.txt")
    with pytest.raises(InvalidKey):
        await storage.delete("../secret.txt")

    assert (tmp_path / "secret.txt").exists()


async def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")

    await storage.put("org/1/a.pdf", b"first")
    await storage.put("org/1/a.pdf", b"second")

    assert files_under(tmp_path / "files") == ["org/1/a.pdf"]


async def test_a_failed_write_keeps_the_previous_object(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    await storage.put("org/1/a.pdf", b"previous")

    # Text instead of bytes fails half-way, after the temporary file exists.
    with pytest.raises(TypeError):
        await storage.put("org/1/a.pdf", "not bytes")  # type: ignore[arg-type]

    assert await storage.get("org/1/a.pdf") == b"previous"
    assert files_under(tmp_path / "files") == ["org/1/a.pdf"]


async def test_a_key_below_an_object_is_refused_clearly(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    await storage.put("org/1", b"object")

    with pytest.raises(StorageError, match="already stored as an object"):
        await storage.put("org/1/a.pdf", b"x")


async def test_a_key_that_is_a_folder_of_objects_is_refused_clearly(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    await storage.put("org/1/a.pdf", b"x")

    with pytest.raises(StorageError, match="folder of other objects"):
        await storage.put("org/1", b"object")

    assert files_under(tmp_path / "files") == ["org/1/a.pdf"]


async def test_delete_prefix_removes_the_emptied_folder(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    await storage.put("org/1/documents/2/original.pdf", b"x")

    await storage.delete_prefix("org/1/documents/2/")

    assert not (tmp_path / "files/org/1/documents/2").exists()
    assert (tmp_path / "files/org/1/documents").is_dir()


async def test_delete_prefix_does_not_follow_links_out_of_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    storage = LocalStorage(tmp_path / "files")
    await storage.put("org/1/a.pdf", b"x")
    (tmp_path / "files/org/1/link").symlink_to(outside, target_is_directory=True)

    removed = await storage.delete_prefix("org/")

    assert removed == 1
    assert (outside / "precious.txt").read_text() == "keep me"
    assert files_under(tmp_path / "files") == []


async def test_check_fails_when_the_root_disappears(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    (tmp_path / "files").rmdir()

    with pytest.raises(StorageError, match="does not exist"):
        await storage.check()


def test_describe_names_the_resolved_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "a" / ".." / "files")

    assert storage.describe() == f"local:{(tmp_path / 'files').resolve()}"
