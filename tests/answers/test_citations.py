from __future__ import annotations

import pytest

from answerdesk.answers.citations import resolve_citations, strip_markers, used_numbers
from tests.answers.factories import demo_faq, demo_passage

PASSAGES = [
    demo_faq(1, "Which SMTP port should I use?"),
    demo_passage(2, "email-setup.md", "Ports and encryption"),
    demo_passage(3, "email-setup.md", "Setting up Outlook"),
]


def test_keeps_known_numbers_in_order_of_first_use_without_duplicates() -> None:
    text = "Use port 465 with SSL/TLS [2]. If it is blocked, use 587 [1][2]. In Outlook, tick the box [3][2]."

    cited = resolve_citations(text, PASSAGES)

    assert [c.n for c in cited.citations] == [2, 1, 3]
    assert cited.text == text
    assert cited.citations[0].title == PASSAGES[1].title
    assert cited.citations[0].chunk_id == PASSAGES[1].chunk_id
    assert cited.citations[2].section.endswith("Setting up Outlook")


@pytest.mark.parametrize(
    ("text", "expected_text", "expected"),
    [
        ("Use port 465 [1, 3].", "Use port 465 [1][3].", [1, 3]),
        ("Use port 465 [1,2,3].", "Use port 465 [1][2][3].", [1, 2, 3]),
        ("Use port 465 [1-3].", "Use port 465 [1][2][3].", [1, 2, 3]),
        ("Use port 465 [1\u20133].", "Use port 465 [1][2][3].", [1, 2, 3]),
        ("Use port 465 [2 and 3].", "Use port 465 [2][3].", [2, 3]),
        ("Use port 465 [^2].", "Use port 465 [2].", [2]),
        ("Use port 465 [ 3 ].", "Use port 465 [3].", [3]),
    ],
)
def test_marker_forms_are_read_and_written_back_as_one_form(
    text: str, expected_text: str, expected: list[int]
) -> None:
    cited = resolve_citations(text, PASSAGES)

    assert cited.text == expected_text
    assert [c.n for c in cited.citations] == expected


@pytest.mark.parametrize(
    ("text", "expected_text"),
    [
        ("Use port 465 [7].", "Use port 465."),
        ("Use port 465 [7] with SSL/TLS.", "Use port 465 with SSL/TLS."),
        ("Use port 465 [0][9], not 25.", "Use port 465, not 25."),
        ("[12] Use port 465.", "Use port 465."),
        ("Use port 465 [2, 7].", "Use port 465 [2]."),
        ("Use port 465 [7-9][3].", "Use port 465 [3]."),
        ("Line one [8]\nLine two [1]", "Line one\nLine two [1]"),
    ],
)
def test_out_of_range_numbers_are_removed_and_spacing_tidied(text: str, expected_text: str) -> None:
    assert resolve_citations(text, PASSAGES).text == expected_text


def test_no_valid_marker_means_no_citations() -> None:
    cited = resolve_citations("Our nameservers are ns1 and ns2 [4].", PASSAGES)

    assert cited.citations == []
    assert cited.text == "Our nameservers are ns1 and ns2."


def test_links_code_and_plain_brackets_are_not_markers() -> None:
    text = "See [1](https://help.example/smtp) and run `mailq[2]` or:\n```\nports[3] = 465\n```\nUse 465 [2]."

    cited = resolve_citations(text, PASSAGES)

    assert cited.text == text
    assert [c.n for c in cited.citations] == [2]
    assert used_numbers(text) == {2}


def test_keeps_the_passage_number_even_when_passages_are_not_numbered_from_one() -> None:
    passages = [demo_passage(4, "cpanel.md", "File Manager")]

    cited = resolve_citations("Folders should be 755 [4], files 644 [1].", passages)

    assert cited.text == "Folders should be 755 [4], files 644."
    assert [c.n for c in cited.citations] == [4]


def test_used_numbers_counts_every_marker_including_unknown_ones() -> None:
    assert used_numbers("A [1]. B [2, 5]. C [7-8]. D [10].") == {1, 2, 5, 7, 8, 10}
    assert used_numbers("No citations here, just [brackets] and 3 items.") == set()


def test_strip_markers_removes_all_citations() -> None:
    assert strip_markers("Use 465 [1]. Or 587 [2, 3] if blocked [4].") == "Use 465. Or 587 if blocked."
