"""BM25 keyword index: tokenizer that keeps codes and names, search, filtering, verified persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from answerdesk.retrieval.keyword import CorruptIndex, KeywordIndex, MissingIndex, StaleIndex, tokenize
from answerdesk.retrieval.persist import id_checksum

DISTRACTORS = [
    "SSL certificates renew automatically thirty days before they expire.",
    "Protocol errors in the mail client usually mean the wrong port is configured.",
    "Your control panel password can be reset from the login page.",
    "Register a .com domain or transfer an existing domain to us.",
    "Domains ending in .uk are managed by Nominet.",
    "The panel shows disk usage and bandwidth for each hosting account.",
    "Error 500 means the server hit an internal problem; check the error log.",
    "Point your MX records at our mail servers to receive email.",
    "WHMCS sends invoices by email on the first day of each month.",
    "Open port 443 in the firewall to serve HTTPS traffic.",
    "To cancel an order, open the order page and choose cancel.",
    "Refunds are issued to the original payment method within five days.",
    "Browsers cache DNS answers, so changes can take an hour to show.",
    "Two-factor authentication protects your client area account.",
    "Backups run nightly and are kept for fourteen days.",
    "Use the file manager to upload your website files.",
    "An SSL handshake failure can come from an outdated browser.",
    "Contact support if a payment fails more than twice.",
    "Co-located servers are billed per rack unit.",
    "The UK data centre is in London.",
]
NEEDLES = {
    101: "Chrome shows ERR_SSL_PROTOCOL_ERROR when the certificate is missing on the site.",
    102: "We now sell .co.uk domains at the same price as .com.",
    103: "Email accounts are created in cPanel under the Email section.",
}


def corpus() -> tuple[list[int], list[str]]:
    ids = [*range(1, len(DISTRACTORS) + 1), *NEEDLES]
    return ids, [*DISTRACTORS, *NEEDLES.values()]


def build(**kwargs: object) -> KeywordIndex:
    ids, texts = corpus()
    return KeywordIndex.build(ids, texts, **kwargs)  # type: ignore[arg-type]


def test_tokenize_keeps_joined_tokens_whole_and_in_parts() -> None:
    tokens = tokenize("Chrome: ERR_SSL_PROTOCOL_ERROR on port 443!")
    assert tokens == ["chrome", "err_ssl_protocol_error", "err", "ssl", "protocol", "error", "port", "443"]


def test_tokenize_domains_and_emails_give_their_suffixes() -> None:
    assert tokenize(".co.uk") == ["co.uk", "co", "uk"]
    assert tokenize("mail.example.co.uk") == [
        "mail.example.co.uk", "example.co.uk", "co.uk", "mail", "example", "co", "uk",
    ]  # fmt: skip
    assert "example.com" in tokenize("write to billing@example.com.")


def test_tokenize_lowercases_drops_only_stopwords_and_stems_plurals() -> None:
    tokens = tokenize("How do I set the MX records in cPanel for WHMCS?")
    assert tokens == ["set", "mx", "record", "cpanel", "whmcs"]
    assert tokenize("passwords invoices queries status address") == [
        "password", "invoice", "query", "status", "address",
    ]  # fmt: skip
    assert tokenize("passwords", stem=False) == ["passwords"]
    assert tokenize("the of and") == []


@pytest.mark.parametrize(
    ("query", "needle"),
    [("ERR_SSL_PROTOCOL_ERROR", 101), ("err_ssl_protocol_error", 101), (".co.uk", 102), ("cPanel", 103)],
)
def test_exact_codes_and_names_rank_their_chunk_first(query: str, needle: int) -> None:
    assert build().search(query, 5)[0][0] == needle


def test_parts_of_a_code_still_find_it() -> None:
    hits = [item for item, _ in build().search("ssl", 10)]
    assert 101 in hits
    assert 1 in hits


def test_only_matching_chunks_are_returned() -> None:
    hits = build().search("refunds", 10)
    assert [item for item, _ in hits] == [12]
    assert hits[0][1] > 0
    assert build().search("kubernetes", 10) == []
    assert build().search("the and of", 10) == []
    assert build().search("ssl", 0) == []


def test_equal_scores_keep_insertion_order() -> None:
    index = KeywordIndex.build([30, 10, 20], ["alpha beta", "alpha beta", "alpha beta"])
    assert [item for item, _ in index.search("alpha", 3)] == [30, 10, 20]


def test_allowed_ids_and_remove() -> None:
    index = build()
    assert {item for item, _ in index.search("ssl", 10, allowed_ids={17, 101, 999})} == {17, 101}
    assert index.search("ssl", 10, allowed_ids=set()) == []
    assert index.remove([101, 999]) == 1
    assert 101 not in index
    assert all(item != 101 for item, _ in index.search("ERR_SSL_PROTOCOL_ERROR", 10))
    assert all(item != 101 for item, _ in index.search("ssl", 10, allowed_ids={101, 17}))


def test_removing_from_a_copy_leaves_the_original_whole() -> None:
    index = build()
    copy = index.copy()
    assert copy.remove([101]) == 1
    assert 101 in index and 101 not in copy
    assert index.search("ERR_SSL_PROTOCOL_ERROR", 1)[0][0] == 101
    assert all(item != 101 for item, _ in copy.search("ERR_SSL_PROTOCOL_ERROR", 10))


def test_needs_rebuild_after_many_removals() -> None:
    index = build(rebuild_ratio=0.2)
    index.remove(range(1, 5))
    assert not index.needs_rebuild
    index.remove(range(5, 7))
    assert index.needs_rebuild


def test_empty_index_and_bad_input() -> None:
    empty = KeywordIndex.build([], [])
    assert empty.count == 0
    assert empty.search("anything", 5) == []
    with pytest.raises(ValueError, match="texts"):
        KeywordIndex.build([1, 2], ["one"])
    with pytest.raises(ValueError, match="duplicates"):
        KeywordIndex.build([1, 1], ["one", "two"])


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = build()
    index.remove([5])
    manifest = index.save(tmp_path, generation=9)
    ids, _ = corpus()
    live = [i for i in ids if i != 5]
    assert manifest.id_checksum == id_checksum(live)
    loaded = KeywordIndex.load(tmp_path, expected_generation=9, expected_id_checksum=id_checksum(live))
    assert loaded.count == len(live)
    for query in ("ERR_SSL_PROTOCOL_ERROR", ".co.uk", "cPanel", "domain transfer", "ssl"):
        assert loaded.search(query, 5) == index.search(query, 5)


def test_empty_index_round_trips(tmp_path: Path) -> None:
    KeywordIndex.build([], []).save(tmp_path, generation=0)
    loaded = KeywordIndex.load(tmp_path, expected_generation=0, expected_id_checksum=id_checksum([]))
    assert loaded.search("x", 3) == []


@pytest.mark.parametrize(
    ("generation", "drop_one", "stem"),
    [(2, False, True), (1, True, True), (1, False, False)],
    ids=["wrong-generation", "wrong-ids", "other-tokenizer-settings"],
)
def test_load_refuses_a_stale_index(tmp_path: Path, generation: int, drop_one: bool, stem: bool) -> None:
    build().save(tmp_path, generation=1)
    ids, _ = corpus()
    expected = id_checksum(ids[1:] if drop_one else ids)
    with pytest.raises(StaleIndex):
        KeywordIndex.load(tmp_path, expected_generation=generation, expected_id_checksum=expected, stem=stem)


def test_load_refuses_truncated_files(tmp_path: Path) -> None:
    manifest = build().save(tmp_path, generation=1)
    ids, _ = corpus()
    victim = tmp_path / manifest.snapshot / "data.csc.index.npy"
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(CorruptIndex, match="checksum"):
        KeywordIndex.load(tmp_path, expected_generation=1, expected_id_checksum=id_checksum(ids))


def test_load_of_an_empty_directory_says_missing(tmp_path: Path) -> None:
    with pytest.raises(MissingIndex):
        KeywordIndex.load(tmp_path, expected_generation=0, expected_id_checksum=id_checksum([]))


def test_coverage_weighs_words_by_rarity_and_unknown_words_most() -> None:
    texts = [
        "Live chat is open on weekdays; email support answers around the clock.",
        "Email forwarders and autoresponders are set up under Email.",
        "Email quotas are 10 GB per mailbox.",
    ]
    index = KeywordIndex.build([1, 2, 3], texts)
    words = tokenize("live chat hours email")
    cover = index.coverage(words, [1, 2, 3, 99])
    assert set(cover) == {1, 2, 3}  # an id the index does not hold is left out
    assert cover[1] > cover[2] == cover[3] > 0  # "email" is everywhere, so it counts for little
    assert cover[1] < 1  # "hours" is in no chunk
    # A word the knowledge base never uses outweighs one it uses everywhere.
    assert index.coverage(tokenize("email minecraft"), [2])[2] < 0.5
    assert index.coverage([], [1]) == {1: 0.0}
    assert KeywordIndex.build([], []).coverage(words, [1]) == {}
