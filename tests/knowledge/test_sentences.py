from __future__ import annotations

from answerdesk.knowledge.sentences import split_sentences


def test_splits_on_sentence_ends_but_not_abbreviations_initials_or_decimals() -> None:
    text = 'Use e.g. Outlook. J. Smith wrote "Done." Version 2.5 works! Does it? yes it does. 第一。第二'

    assert split_sentences(text) == [
        "Use e.g. Outlook.",
        'J. Smith wrote "Done."',
        "Version 2.5 works!",
        "Does it? yes it does.",
        "第一。",
        "第二",
    ]


def test_joining_sentences_restores_the_text_up_to_whitespace() -> None:
    text = "One.  Two!\tThree? Four"

    assert " ".join(split_sentences(text)).split() == text.split()
