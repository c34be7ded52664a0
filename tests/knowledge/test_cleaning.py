# Deliberately non-ASCII text: these tests are about encodings and typographic characters.
# ruff: noqa: RUF001
from __future__ import annotations

from answerdesk.knowledge.cleaning import clean_inline, decode_text, dehyphenate, running_lines


def test_decode_prefers_utf8_and_falls_back_to_cp1252() -> None:
    assert decode_text("naïve ’".encode()) == "naïve ’"
    assert decode_text("naïve ’".encode("cp1252")) == "naïve ’"


def test_decode_utf32_bom() -> None:
    assert decode_text("hi".encode("utf-32")) == "hi"


def test_dehyphenate_joins_lowercase_continuations_only() -> None:
    assert dehyphenate("docu-\nment and Wi-\nFi and 2-\n3") == "document and Wi-\nFi and 2-\n3"


def test_clean_inline_collapses_everything_to_one_line() -> None:
    assert clean_inline("  a\n\n b\t c  ") == "a b c"


def test_running_lines_marks_repeated_edges_and_page_numbers() -> None:
    pages = [["Header", f"Body {n} first", "Body middle", f"Other {n} text", f"{n}"] for n in range(1, 4)]
    pages[0] = ["Header", "Intro", "Only page one", "More", "Last", "1"]

    dropped = running_lines(pages)

    assert dropped[0] == {0, 5}
    # "Other # text" sits at the bottom of two pages out of three: below the threshold.
    assert dropped[1] == dropped[2] == {0, 4}


def test_utf8_in_other_scripts_is_not_mistaken_for_utf16() -> None:
    for text in ("Привет, как дела? Всё хорошо.", "Γειά σου κόσμε", "こんにちは世界", "ok"):
        assert decode_text(text.encode("utf-8")) == text
