from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answerdesk.knowledge.chunk import chunk_document
from answerdesk.knowledge.document import ExtractedDocument, FaqPair, Section
from answerdesk.knowledge.tokens import count_tokens

WORDS = st.sampled_from(
    ["mail", "server", "port", "invoice", "the", "a", "configuration", "authentication", "993",
     "imap.example.com", "passwords", "internationalization", "you", "can", "reset", "x"]
)  # fmt: skip


@st.composite
def sentence(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORDS, min_size=1, max_size=30))
    if draw(st.integers(0, 9)) == 0:
        # Over-long sentences are cheaper to build by repetition than to draw word by word.
        words = words * (300 // len(words) + 1)
    end = draw(st.sampled_from(".?!"))
    return " ".join(words).capitalize() + end


blocks = st.lists(sentence(), min_size=1, max_size=6).map(" ".join)
sections = st.builds(
    Section,
    heading_path=st.lists(st.sampled_from(["Email", "Billing", "IMAP", "Setup"]), max_size=2).map(tuple),
    blocks=st.lists(blocks, min_size=1, max_size=3).map(tuple),
)
documents = st.builds(
    ExtractedDocument,
    title=st.just("Doc"),
    source_format=st.just("markdown"),
    sections=st.lists(sections, min_size=1, max_size=5).map(tuple),
)


@st.composite
def budgets(draw: st.DrawFn) -> tuple[int, int, int]:
    target = draw(st.integers(40, 300))
    limit = draw(st.integers(target, target + 150))
    overlap = draw(st.integers(0, min(60, limit // 2)))
    return target, limit, overlap


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(word in it for word in needle)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents, budget=budgets())
def test_no_text_is_lost_and_no_chunk_exceeds_the_limit(
    doc: ExtractedDocument, budget: tuple[int, int, int]
) -> None:
    target, limit, overlap = budget

    chunks = chunk_document(doc, target_tokens=target, max_tokens=limit, overlap_tokens=overlap)

    assert all(c.token_count <= limit for c in chunks)
    texts = [c.text for c in chunks]
    for section in doc.sections:
        for block in section.blocks:
            for one in block.replace("? ", "?\n").replace("! ", "!\n").replace(". ", ".\n").split("\n"):
                if count_tokens(one) <= min(target, limit - overlap):
                    assert any(one in text for text in texts), one
    source_words = [w for s in doc.sections for b in s.blocks for w in b.split()]
    assert _is_subsequence(source_words, [w for text in texts for w in text.split()])


@settings(max_examples=40, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.lists(WORDS, min_size=1, max_size=20),
            st.lists(WORDS, min_size=1, max_size=30).map(lambda a: a * 20),
        )
    ),
)
def test_every_faq_pair_is_exactly_one_chunk(pairs: list[tuple[list[str], list[str]]]) -> None:
    faqs = tuple(FaqPair(" ".join(q) + "?", " ".join(a) + ".") for q, a in pairs)
    doc = ExtractedDocument(title="FAQ", source_format="faq_json", faqs=faqs)

    chunks = chunk_document(doc, target_tokens=100, max_tokens=150)

    assert [c.text for c in chunks] == [f"Q: {p.question}\nA: {p.answer}" for p in faqs]
    assert all(c.kind == "faq" for c in chunks)
