# Deliberately non-ASCII text: these tests are about encodings and typographic characters.
# ruff: noqa: RUF001
from __future__ import annotations

import json

import pytest

from answerdesk.knowledge.extract import EmptyDocument, FaqPair, MalformedFaq, extract


def test_csv_faq_with_common_column_names_and_tags() -> None:
    data = (
        b"Q,A,Tags\n"
        b'How do I reset my password?,"Click ""Forgot password"" on the login page.",account; login\n'
        b"\n"
        b'Can I pay by invoice?,"Yes.\n\nAsk billing to enable it.",billing\n'
    )

    doc = extract(data, filename="faq.csv")

    assert doc.source_format == "faq_csv"
    assert doc.title == "faq"
    assert doc.sections == ()
    assert doc.faqs == (
        FaqPair(
            "How do I reset my password?", 'Click "Forgot password" on the login page.', ("account", "login")
        ),
        FaqPair("Can I pay by invoice?", "Yes.\n\nAsk billing to enable it.", ("billing",)),
    )


@pytest.mark.parametrize(
    "header", ["question,answer", "Question;Response", "TITLE\tANSWER", " question , a "], ids=repr
)
def test_csv_faq_header_names_and_delimiters(header: str) -> None:
    delimiter = ";" if ";" in header else "\t" if "\t" in header else ","
    data = f"{header}\nWhat is IMAP?{delimiter}A mail protocol.\n".encode()

    assert extract(data, filename="faq.csv").faqs == (FaqPair("What is IMAP?", "A mail protocol."),)


def test_csv_faq_in_cp1252_is_decoded() -> None:
    data = "question,answer\nWhat’s the café’s Wi-Fi?,Ask at the bar.\n".encode("cp1252")

    assert extract(data, filename="faq.csv").faqs[0].question == "What’s the café’s Wi-Fi?"


def test_csv_faq_without_answer_column_names_the_columns_found() -> None:
    with pytest.raises(MalformedFaq, match=r"no answer column .* found columns: question, notes") as info:
        extract(b"question,notes\nHi?,x\n", filename="faq.csv")
    assert info.value.details["missing"] == "answer"
    assert info.value.code == "malformed_faq"


def test_csv_faq_row_with_empty_answer_names_the_row() -> None:
    data = b"question,answer\nFirst?,Yes.\nSecond?,\n"

    with pytest.raises(MalformedFaq, match=r"^Row 3: the answer is empty$") as info:
        extract(data, filename="faq.csv")
    assert info.value.details == {"row": 3, "missing": "answer"}


def test_csv_faq_short_row_is_reported_as_missing_the_answer() -> None:
    with pytest.raises(MalformedFaq, match=r"^Row 2: the answer is empty$"):
        extract(b"question,answer\nOnly a question?\n", filename="faq.csv")


def test_csv_faq_with_only_a_header_has_no_pairs() -> None:
    with pytest.raises(EmptyDocument, match="no question/answer pairs"):
        extract(b"question,answer\n\n", filename="faq.csv")


@pytest.mark.parametrize("wrap", [lambda items: items, lambda items: {"faqs": items}], ids=["list", "object"])
def test_json_faq_list_or_faqs_object(wrap: object) -> None:
    items = [
        {"question": "How do I cancel?", "answer": "From the billing page.", "tags": ["billing"]},
        {"Q": "Is there an API?", "A": 42, "tags": "api, developers"},
    ]
    data = json.dumps(wrap(items)).encode()  # type: ignore[operator]

    doc = extract(data, filename="faq.json")

    assert doc.faqs == (
        FaqPair("How do I cancel?", "From the billing page.", ("billing",)),
        FaqPair("Is there an API?", "42", ("api", "developers")),
    )


def test_json_faq_missing_key_names_the_item() -> None:
    data = json.dumps([{"question": "a?", "answer": "b"}, {"question": "c?"}]).encode()

    with pytest.raises(MalformedFaq, match=r'^Item 2 has no "answer" key$') as info:
        extract(data, filename="faq.json")
    assert info.value.details == {"item": 2, "missing": "answer"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'[{"question": "a?", "answer": "b"', r"not valid JSON: .* \(line 1, column \d+\)"),
        (b'{"items": []}', 'must be a list of .* or an object with a "faqs" list'),
        (b'["just text"]', 'Item 1 is a string, expected an object with "question" and "answer"'),
        (b'[{"question": "a?", "answer": ["b"]}]', 'Item 1: "answer" is a list, expected text'),
        (b'[{"question": "  ", "answer": "b"}]', 'Item 1: "question" is empty'),
        (b'[{"question": "a?", "answer": "b", "tags": 3}]', 'Item 1: "tags" must be a list of strings'),
    ],
)
def test_json_faq_malformed(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedFaq, match=message):
        extract(payload, filename="faq.json")


def test_json_faq_empty_list_has_no_pairs() -> None:
    with pytest.raises(EmptyDocument):
        extract(b"[]", filename="faq.json")


def test_faq_files_carry_other_phrasings_of_a_question() -> None:
    csv_doc = extract(
        b"question,answer,other questions\n"
        b'"How do I get a refund?",Write to billing.,"refund please | I want my money back, now\n'
        b'refund please"\n'
        b"Where is my order?,Track it in your account.,\n",
        filename="faq.csv",
    )
    assert [p.phrasings for p in csv_doc.faqs] == [("refund please", "I want my money back, now"), ()]
    json_doc = extract(
        json.dumps(
            [
                {
                    "q": "How do I get a refund?",
                    "a": "Write to billing.",
                    "phrasings": ["  money back? ", "", "x"],
                },
                {"q": "Where is my order?", "a": "Track it.", "alternatives": "where is it\ntracking"},
            ]
        ).encode(),
        filename="faq.json",
    )
    assert [p.phrasings for p in json_doc.faqs] == [("money back?",), ("where is it", "tracking")]


def test_json_faq_phrasings_must_be_text() -> None:
    with pytest.raises(MalformedFaq, match='Item 1: "phrasings" must be a list of questions'):
        extract(b'[{"q": "Why?", "a": "Because.", "phrasings": [1, 2]}]', filename="faq.json")
