from __future__ import annotations

from answerdesk.answers.extractive import EXTRACTIVE_LABEL, EXTRACTIVE_NOTHING_FOUND, compose_extractive
from tests.answers.factories import demo_faq, demo_passage, make_passage


def _quotes(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("> ")]


def test_faq_passage_quotes_only_the_answer_with_its_source() -> None:
    faq = demo_faq(1, "How do I reset my cPanel password?")

    cited = compose_extractive("How can I reset my cPanel password?", [faq])

    lines = cited.text.splitlines()
    assert lines[0] == EXTRACTIVE_LABEL
    assert "> In the client area open Services > My Services, select your hosting plan" in cited.text
    assert not any(line.startswith(("Q:", "A:")) for line in _quotes(cited.text))
    assert "How can I" not in cited.text
    assert lines[-1] == "[1] — FAQ: How do I reset my cPanel password?"
    assert [c.n for c in cited.citations] == [1]


def test_steps_are_quoted_together_with_their_intro() -> None:
    section = demo_passage(1, "cpanel.md", "Resetting the cPanel password")

    cited = compose_extractive("How do I change my cPanel password?", [section], max_chars_per_passage=420)

    quote = "\n".join(_quotes(cited.text))
    assert "To change it:" in quote
    assert "1. Log in to the client area at https://my.northwind-hosting.example." in quote
    assert quote.index("To change it:") < quote.index("1. Log in")
    steps = [line for line in _quotes(cited.text) if line[:2] in ("1.", "2.", "3.", "4.")]
    assert [s[0] for s in steps] == ["1", "2", "3", "4"]
    assert cited.text.endswith(
        "[1] — cPanel guide: login, files, e-mail accounts, databases, backups and WordPress, "
        "Resetting the cPanel password"
    )


def test_long_steps_are_cut_after_a_whole_step_from_the_first_one() -> None:
    steps = demo_passage(1, "dns.md", "Step by step")

    cited = compose_extractive(
        "How do I point my domain to your nameservers?", [steps], max_chars_per_passage=300
    )

    quoted = _quotes(cited.text)
    assert quoted[0].startswith("1. Make sure the domain has been added")
    assert "…" in quoted
    assert all(line == "…" or line[0].isdigit() for line in quoted)


def test_most_relevant_sentences_kept_in_original_order_without_cutting_them() -> None:
    # A paragraph of which only two sentences are about refunds of domains.
    text = (
        "New hosting plans have a 30-day money-back guarantee. "
        "Cancel within 30 days of your first payment and we refund it in full. "
        "Our offices are in Manchester and the team loves tea. "
        "Renewals and domain registrations are not refundable. "
        "Refunds go back to the original payment method within 5-10 business days. "
        "We also sponsor a local football club."
    )
    passage = make_passage(1, text, title="Billing", section="Billing > Refund policy")

    cited = compose_extractive("Are domain registrations refundable?", [passage], max_chars_per_passage=120)

    quote = " ".join(_quotes(cited.text))
    assert quote == "Renewals and domain registrations are not refundable."
    assert "[1] — Billing, Refund policy" in cited.text


def test_bullets_are_picked_by_relevance() -> None:
    files = demo_passage(1, "cpanel.md", "File Manager")

    cited = compose_extractive(
        "How do I see hidden files like .htaccess?", [files], max_chars_per_passage=200
    )

    quoted = _quotes(cited.text)
    assert (
        "- Files whose names start with a dot, such as .htaccess, are hidden by default. "
        "Click Settings and tick Show Hidden Files (dotfiles)."
    ) in quoted
    assert not any("public_html" in line or "403 Forbidden" in line for line in quoted)


def test_near_duplicate_passages_are_skipped_and_up_to_max_passages_quoted() -> None:
    faq = demo_faq(1, "How do I reset my cPanel password?")
    same = demo_passage(2, "cpanel.md", "Resetting the cPanel password")
    login = demo_passage(3, "cpanel.md", "Logging in to cPanel")
    other = demo_faq(4, "How do I log in to cPanel?")

    cited = compose_extractive("How do I reset my cPanel password?", [faq, same, login, other])

    assert [c.n for c in cited.citations] == [1, 3]
    assert "[2] —" not in cited.text


def test_markdown_headings_code_and_tables_survive_as_quotes() -> None:
    text = (
        "## Checking DNS\n"
        "Run this command to see which nameservers your domain uses:\n\n"
        "```\ndig NS yourdomain.example +short\n\nnslookup -type=NS yourdomain.example\n```\n\n"
        "Protocol: IMAP; Port: 993\nProtocol: POP3; Port: 995"
    )
    passage = make_passage(1, text, title="DNS", section="DNS > Checking")

    cited = compose_extractive("Which command shows my nameservers?", [passage])

    assert "## Checking DNS" not in cited.text
    assert (
        "> ```\n> dig NS yourdomain.example +short\n>\n> nslookup -type=NS yourdomain.example\n> ```"
        in cited.text
    )
    assert "> Protocol: IMAP; Port: 993\n> Protocol: POP3; Port: 995" in cited.text


def test_passage_without_matching_words_is_quoted_from_its_start() -> None:
    about = demo_passage(1, "cpanel.md", "Installing WordPress with Softaculous")

    cited = compose_extractive("zzz qqq", [about], max_chars_per_passage=200)

    first = _quotes(cited.text)[0]
    assert about.text.startswith(first.rstrip("…").rstrip())
    assert len(" ".join(_quotes(cited.text))) <= 200


def test_later_passages_sharing_no_word_with_the_question_are_left_out() -> None:
    faq = demo_faq(1, "Which payment methods do you accept?")
    unrelated = demo_passage(2, "email-setup.md", "Setting up Outlook")

    cited = compose_extractive("Which payment methods do you accept?", [faq, unrelated])

    assert [c.n for c in cited.citations] == [1]


def test_no_passages_says_nothing_was_found() -> None:
    cited = compose_extractive("How do I fly to the moon?", [])

    assert cited.text == EXTRACTIVE_NOTHING_FOUND
    assert cited.citations == []
