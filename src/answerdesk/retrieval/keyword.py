"""Keyword index over chunk texts (BM25 via bm25s) with a tokenizer that keeps codes and names findable.

Tokenizer (``tokenize``), version ``TOKENIZER_VERSION``:

* NFKC-normalise and lowercase; a word is a run of letters/digits, and runs joined by ``.``,
  ``_``, ``-`` or ``@`` stay one token: ``ERR_SSL_PROTOCOL_ERROR`` -> ``err_ssl_protocol_error``,
  ``.co.uk`` -> ``co.uk``, ``billing@example.com``.
* A joined token is emitted whole *and* as its parts (``err``, ``ssl``, ``protocol``, ``error``),
  plus the suffixes after each ``.``/``@`` (``mail.example.co.uk`` also gives ``example.co.uk``
  and ``co.uk``), so a query for the exact code ranks the exact match first while a query for
  ``ssl`` or ``.co.uk`` still finds it.
* Only a short English stopword list is dropped; numbers (``443``) and short codes (``mx``) stay.
* Light stemming (on by default, ``stem=False`` to turn off): Harman's "S" stemmer strips plural
  endings (``passwords`` -> ``password``, ``invoices`` -> ``invoice``) of purely alphabetic
  words of 4+ letters; joined tokens, acronyms without vowels (``whmcs``) and anything with a
  digit are never stemmed. It is chosen
  over Porter because it cannot merge unrelated words the way suffix stripping of ``-ing``/``-ion``
  does. On bench/retrieval_quality.py it lifts Bitext BM25 nDCG@10 from 0.815 to 0.819 (P@5
  0.833 -> 0.839) and leaves SciFact unchanged (0.671).

Changes to the tokenizer must bump ``TOKENIZER_VERSION``: saved indexes built with another
version are then rejected as stale on load.

BM25 statistics (IDF, average length) are corpus-wide, so there is no incremental ``add``:
the caller rebuilds with ``KeywordIndex.build`` from the chunk rows and swaps the new index in
(about 4 s for 100,000 chunks of 60 words on this 2-core machine).
Building costs far more than loading (see the bench: seconds to minutes against well under a
second), so the index is persisted with bm25s's own save/load rather than rebuilt at start-up.
``remove`` masks rows out at once; the statistics keep counting them until the next rebuild
(``needs_rebuild`` says when that drift gets large).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt

from answerdesk.retrieval.persist import (
    CorruptIndex,
    IndexLoadError,
    Manifest,
    MissingIndex,
    StaleIndex,
    as_id_array,
    id_checksum,
    open_snapshot,
    write_snapshot,
)

__all__ = [
    "STOPWORDS",
    "TOKENIZER_VERSION",
    "CorruptIndex",
    "IndexLoadError",
    "KeywordIndex",
    "MissingIndex",
    "StaleIndex",
    "tokenize",
]

TOKENIZER_VERSION = 1
_NAME = "bm25"
# Python memory per vocabulary term (its string, id, dict and set slots) and per id -> row entry,
# measured with RSS (bench/index_cache.py).
_VOCAB_ENTRY_BYTES = 110
_DICT_ENTRY_BYTES = 100

# fmt: off
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "or", "our", "so", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will",
    "with", "would", "you", "your", "s", "t",
})
# fmt: on

_WORD = re.compile(r"[^\W_]+(?:[._\-@][^\W_]+)*")
_JOINER = re.compile(r"[._\-@]")
_SUFFIX_START = re.compile(r"[.@]")
_VOWEL = re.compile(r"[aeiouy]")

IdArray = npt.NDArray[np.int64]
Hit = tuple[int, float]


def tokenize(text: str, *, stem: bool = True) -> list[str]:
    """Index/query tokens of ``text``; the same function must serve both sides."""
    expand = _expand_stemmed if stem else _expand_plain
    tokens: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).lower()):
        tokens.extend(expand(word))
    return tokens


# Word frequencies are Zipfian, so caching per distinct word makes tokenizing a corpus several times faster.
@lru_cache(maxsize=1 << 17)
def _expand_stemmed(word: str) -> tuple[str, ...]:
    return _expand(word, stem=True)


@lru_cache(maxsize=1 << 17)
def _expand_plain(word: str) -> tuple[str, ...]:
    return _expand(word, stem=False)


def _expand(word: str, *, stem: bool) -> tuple[str, ...]:
    if not _JOINER.search(word):
        if word in STOPWORDS:
            return ()
        return (_stem(word) if stem else word,)
    suffixes = [word[m.end() :] for m in _SUFFIX_START.finditer(word) if _JOINER.search(word[m.end() :])]
    parts = [_stem(part) if stem else part for part in _JOINER.split(word) if part not in STOPWORDS]
    return (word, *suffixes, *parts)


def _stem(word: str) -> str:
    """Harman's S stemmer, for alphabetic words of 4+ letters only."""
    # Vowel-less words are acronyms (WHMCS, HTTPS); their final s is not a plural.
    if len(word) < 4 or not word.isalpha() or not _VOWEL.search(word, 0, len(word) - 1):
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


class KeywordIndex:
    """BM25 index of one knowledge base; ids are chunk ids from the database."""

    def __init__(self, *, stem: bool = True, k1: float = 1.5, b: float = 0.75, rebuild_ratio: float = 0.2):
        """An empty index; use ``build``."""
        self.stem = stem
        self.k1 = k1
        self.b = b
        self.rebuild_ratio = rebuild_ratio
        self._bm25: Any = None
        self._ids: IdArray = np.empty(0, dtype=np.int64)
        self._alive: npt.NDArray[np.bool_] = np.empty(0, dtype=bool)
        self._row_of: dict[int, int] = {}

    @classmethod
    def build(
        cls,
        ids: Iterable[int] | npt.ArrayLike,
        texts: Sequence[str],
        *,
        stem: bool = True,
        k1: float = 1.5,
        b: float = 0.75,
        rebuild_ratio: float = 0.2,
    ) -> KeywordIndex:
        """Index ``texts[i]`` under ``ids[i]``."""
        index = cls(stem=stem, k1=k1, b=b, rebuild_ratio=rebuild_ratio)
        id_arr = as_id_array(ids)
        if len(id_arr) != len(texts):
            raise ValueError(f"got {len(texts)} texts for {len(id_arr)} ids")
        if len(np.unique(id_arr)) != len(id_arr):
            raise ValueError("ids contain duplicates")
        if len(id_arr):
            bm25 = bm25s.BM25(k1=k1, b=b)
            bm25.index([tokenize(text, stem=stem) for text in texts], show_progress=False)
            index._bm25 = bm25
        index._set_rows(id_arr, np.ones(len(id_arr), dtype=bool))
        return index

    @property
    def count(self) -> int:
        return len(self._row_of)

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._row_of

    @property
    def nbytes(self) -> int:
        """Estimated memory held (BM25 matrix, vocabulary, id tables), for the retriever's cache budget."""
        total = self._ids.nbytes + self._alive.nbytes + len(self._row_of) * _DICT_ENTRY_BYTES
        if self._bm25 is not None:
            total += sum(int(self._bm25.scores[k].nbytes) for k in ("data", "indices", "indptr"))
            total += len(self._bm25.vocab_dict) * _VOCAB_ENTRY_BYTES
        return total

    @property
    def needs_rebuild(self) -> bool:
        """True once removed rows skew the corpus statistics by more than ``rebuild_ratio``."""
        total = len(self._ids)
        return bool(total) and (total - self.count) / total > self.rebuild_ratio

    def ids(self) -> IdArray:
        """Sorted live chunk ids."""
        return np.sort(self._ids[self._alive])

    def checksum(self) -> str:
        return id_checksum(self._ids[self._alive])

    def copy(self) -> KeywordIndex:
        """A copy to ``remove`` from while searches use this one; the (read-only) BM25 matrix is shared."""
        twin = KeywordIndex(stem=self.stem, k1=self.k1, b=self.b, rebuild_ratio=self.rebuild_ratio)
        twin._bm25, twin._ids, twin._alive, twin._row_of = (
            self._bm25,
            self._ids,
            self._alive.copy(),
            dict(self._row_of),
        )
        return twin

    def remove(self, ids: Iterable[int] | npt.ArrayLike) -> int:
        """Stop returning these chunks; unknown ids are ignored. Returns how many were removed."""
        rows = [self._row_of.pop(i) for i in set(as_id_array(ids).tolist()) if i in self._row_of]
        self._alive[rows] = False
        return len(rows)

    def search(self, query: str, k: int, allowed_ids: Collection[int] | None = None) -> list[Hit]:
        """Top ``k`` (chunk id, BM25 score) among chunks sharing at least one token with ``query``."""
        if k < 0:
            raise ValueError("k must be >= 0")
        if k == 0 or self._bm25 is None or not self._row_of:
            return []
        token_ids = self._bm25.get_tokens_ids(tokenize(query, stem=self.stem))
        if not token_ids:
            return []
        scores: npt.NDArray[np.float32] = self._bm25.get_scores_from_ids(token_ids)
        if allowed_ids is None:
            rows = np.flatnonzero(self._alive & (scores > 0))
        else:
            wanted = (self._row_of[i] for i in allowed_ids if i in self._row_of)
            rows = np.unique(np.fromiter(wanted, dtype=np.int64))
            rows = rows[scores[rows] > 0]
        return self._top(rows, scores[rows], k)

    def coverage(self, words: Collection[str], chunk_ids: Sequence[int]) -> dict[int, float]:
        """Per chunk, the IDF-weighted share of ``words`` (query tokens) that occur in its text.

        Words the knowledge base never uses weigh the most, so "Microsoft 365" asked of a host that
        never mentions it keeps coverage low however close the embedding lands; common words weigh little.
        """
        ids = [cid for cid in chunk_ids if cid in self._row_of]
        if not words or self._bm25 is None or not ids:
            return dict.fromkeys(ids, 0.0)
        rows = np.array([self._row_of[cid] for cid in ids], dtype=np.int64)
        n_docs = int(self._bm25.scores["num_docs"])
        indptr, indices = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        vocab: dict[str, int] = self._bm25.vocab_dict
        total = 0.0
        found = np.zeros(len(ids), dtype=np.float64)
        for word in set(words):
            token = vocab.get(word)
            docs = indices[indptr[token] : indptr[token + 1]] if token is not None else indices[:0]
            idf = float(np.log(1 + (n_docs - len(docs) + 0.5) / (len(docs) + 0.5)))
            total += idf
            if len(docs):
                found += idf * np.isin(rows, docs)
        return {cid: float(value / total) if total else 0.0 for cid, value in zip(ids, found, strict=True)}

    def _top(self, rows: IdArray, scores: npt.NDArray[np.float32], k: int) -> list[Hit]:
        if len(rows) > k:
            # Keep every row tied with the k-th score so the final order does not depend on argpartition.
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = scores >= kth
            rows, scores = rows[keep], scores[keep]
        order = np.lexsort((rows, -scores))[:k]
        return [(int(self._ids[rows[i]]), float(scores[i])) for i in order]

    def save(self, directory: str | Path, *, generation: int) -> Manifest:
        """Write the index atomically; ``generation`` is the knowledge-base version it reflects."""
        return write_snapshot(
            Path(directory),
            name=_NAME,
            kind="bm25",
            generation=generation,
            count=self.count,
            checksum=self.checksum(),
            meta=self._meta(),
            write_files=self._write,
        )

    @classmethod
    def load(
        cls,
        directory: str | Path,
        *,
        expected_generation: int,
        expected_id_checksum: str,
        stem: bool = True,
        k1: float = 1.5,
        b: float = 0.75,
        rebuild_ratio: float = 0.2,
    ) -> KeywordIndex:
        """Load a saved index, or raise ``MissingIndex``/``StaleIndex``/``CorruptIndex`` (rebuild then).

        Stale also covers another tokenizer version or other BM25 settings than asked for.
        """
        index = cls(stem=stem, k1=k1, b=b, rebuild_ratio=rebuild_ratio)
        manifest, folder = open_snapshot(
            Path(directory),
            name=_NAME,
            expected_generation=expected_generation,
            expected_id_checksum=expected_id_checksum,
            expected_meta=index._meta(),
        )
        try:
            ids = np.load(folder / "ids.npy", allow_pickle=False)
            alive = np.load(folder / "alive.npy", allow_pickle=False)
            if ids.dtype != np.int64 or alive.dtype != np.bool_ or len(ids) != len(alive):
                raise CorruptIndex("bm25 id tables have the wrong shape or type")
            if len(ids):
                index._bm25 = bm25s.BM25.load(folder, show_progress=False)
                if int(index._bm25.scores["num_docs"]) != len(ids):
                    raise CorruptIndex("bm25 matrix and id table disagree on the number of chunks")
        except (ValueError, OSError, KeyError, TypeError) as exc:
            raise CorruptIndex(f"bm25 index unreadable: {exc}") from exc
        index._set_rows(ids, alive)
        if index.count != manifest.count or index.checksum() != manifest.id_checksum:
            raise CorruptIndex("bm25 index contents disagree with its manifest")
        return index

    def _meta(self) -> dict[str, str | int | float | bool | None]:
        return {"tokenizer": TOKENIZER_VERSION, "stem": self.stem, "k1": self.k1, "b": self.b}

    def _write(self, folder: Path) -> None:
        if self._bm25 is not None:
            self._bm25.save(folder, show_progress=False)
        np.save(folder / "ids.npy", self._ids, allow_pickle=False)
        np.save(folder / "alive.npy", self._alive, allow_pickle=False)

    def _set_rows(self, ids: IdArray, alive: npt.NDArray[np.bool_]) -> None:
        self._ids, self._alive = ids, alive.copy()
        live = np.flatnonzero(alive)
        self._row_of = dict(zip(ids[live].tolist(), live.tolist(), strict=True))
        if len(self._row_of) != len(live):
            raise CorruptIndex("bm25 id table repeats a live chunk id")
