"""The ObjectStorage contract, run on every backend: local folder, S3 bucket, S3 bucket with a prefix."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from answerdesk.integrations.storage import InvalidKey, ObjectNotFound, ObjectStorage


def document_key(org: str = "", document: str = "", name: str = "original.pdf") -> str:
    return f"org/{org or uuid.uuid4()}/documents/{document or uuid.uuid4()}/{name}"


async def put_many(storage: ObjectStorage, keys: list[str], *, concurrency: int = 8) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def put_one(key: str) -> None:
        async with gate:
            await storage.put(key, key.encode())

    await asyncio.gather(*(put_one(key) for key in keys))


async def test_binary_content_round_trips(storage: ObjectStorage) -> None:
    key = document_key()
    data = bytes(range(256)) * 64 + b"\x00\r\n\xff"

    await storage.put(key, data, content_type="application/pdf")

    assert await storage.get(key) == data


async def test_empty_object_round_trips(storage: ObjectStorage) -> None:
    key = document_key(name="empty.txt")

    await storage.put(key, b"")

    assert await storage.get(key) == b""
    assert await storage.exists(key)


async def test_put_replaces_the_previous_object(storage: ObjectStorage) -> None:
    key = document_key()
    await storage.put(key, b"first version, longer than the second")

    await storage.put(key, b"second")

    assert await storage.get(key) == b"second"


async def test_get_of_a_missing_key_raises_object_not_found(storage: ObjectStorage) -> None:
    key = document_key()

    with pytest.raises(ObjectNotFound, match="No stored object") as caught:
        await storage.get(key)

    assert caught.value.key == key


async def test_a_folder_of_objects_is_not_itself_an_object(storage: ObjectStorage) -> None:
    org = str(uuid.uuid4())
    await storage.put(document_key(org=org), b"x")

    assert not await storage.exists(f"org/{org}")
    with pytest.raises(ObjectNotFound):
        await storage.get(f"org/{org}")


async def test_exists_tells_stored_from_missing(storage: ObjectStorage) -> None:
    key = document_key()
    assert not await storage.exists(key)

    await storage.put(key, b"x")

    assert await storage.exists(key)


async def test_delete_removes_only_that_object(storage: ObjectStorage) -> None:
    document = document_key(name="")
    await storage.put(document + "original.pdf", b"pdf")
    await storage.put(document + "text.txt", b"text")

    await storage.delete(document + "original.pdf")

    assert not await storage.exists(document + "original.pdf")
    assert await storage.get(document + "text.txt") == b"text"


async def test_delete_is_idempotent(storage: ObjectStorage) -> None:
    key = document_key()
    await storage.put(key, b"x")

    await storage.delete(key)
    await storage.delete(key)

    assert not await storage.exists(key)


async def test_delete_prefix_with_slash_removes_one_folder_only(storage: ObjectStorage) -> None:
    await put_many(storage, ["org/1/a.pdf", "org/1/documents/d/original.pdf", "org/10/a.pdf", "org/2/a.pdf"])

    removed = await storage.delete_prefix("org/1/")

    assert removed == 2
    assert not await storage.exists("org/1/a.pdf")
    assert not await storage.exists("org/1/documents/d/original.pdf")
    assert await storage.exists("org/10/a.pdf")
    assert await storage.exists("org/2/a.pdf")


async def test_delete_prefix_is_a_plain_string_prefix(storage: ObjectStorage) -> None:
    await put_many(storage, ["org/1.pdf", "org/1/a.pdf", "org/10/a.pdf", "org/1x.pdf", "org/2/a.pdf"])

    removed = await storage.delete_prefix("org/1")

    assert removed == 4
    assert await storage.exists("org/2/a.pdf")
    assert not await storage.exists("org/10/a.pdf")


async def test_delete_prefix_of_nothing_removes_nothing(storage: ObjectStorage) -> None:
    await storage.put("org/1/a.pdf", b"x")

    assert await storage.delete_prefix("org/9/") == 0
    assert await storage.delete_prefix("nothing-here/") == 0
    assert await storage.exists("org/1/a.pdf")


async def test_objects_can_be_stored_again_after_delete_prefix(storage: ObjectStorage) -> None:
    await storage.put("org/1/documents/d/original.pdf", b"old")
    await storage.delete_prefix("org/1/documents/d/")

    await storage.put("org/1/documents/d/original.pdf", b"new")

    assert await storage.get("org/1/documents/d/original.pdf") == b"new"


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside.pdf",
    "org/../../outside.pdf",
    "org/./a.pdf",
    "org//a.pdf",
    "org/a/",
    "org\\a.pdf",
    "org/a\x00.pdf",
    "org/a\n.pdf",
    "a" * 1025,
]


BAD_PREFIXES = ["", "/", "../", "org/../", "/org/", "org//"]


async def test_invalid_keys_are_refused_by_every_operation(storage: ObjectStorage) -> None:
    # One test per backend looping over the keys: the rules themselves are pinned in test_storage_keys.
    for key in BAD_KEYS:
        with pytest.raises(InvalidKey, match="Invalid storage key"):
            await storage.put(key, b"x")
        with pytest.raises(InvalidKey):
            await storage.get(key)
        with pytest.raises(InvalidKey):
            await storage.exists(key)
        with pytest.raises(InvalidKey):
            await storage.delete(key)


async def test_invalid_prefixes_are_refused(storage: ObjectStorage) -> None:
    await storage.put("org/1/a.pdf", b"x")

    for prefix in BAD_PREFIXES:
        with pytest.raises(InvalidKey, match="Invalid storage prefix"):
            await storage.delete_prefix(prefix)

    assert await storage.exists("org/1/a.pdf")


async def test_check_passes_on_a_usable_store(storage: ObjectStorage) -> None:
    await storage.check()


async def test_describe_says_where_objects_go(storage: ObjectStorage) -> None:
    description = storage.describe()

    assert description.startswith(("local:/", "s3://"))
