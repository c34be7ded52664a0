"""The demo knowledge base and its golden queries: well formed, ingestible and consistent in its facts."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from answerdesk.knowledge.extract import extract

ALLOWED_TAGS = {"dns", "email", "ssl", "cpanel", "billing", "migration", "security", "account"}
GOLDEN_KINDS = {"exact", "paraphrase", "short", "out_of_scope"}
NAMESERVERS = {"ns1.northwind-hosting.example", "ns2.northwind-hosting.example"}
# Ports a mail app may be told to use, per protocol; anything else named next to these is a mistake.
MAIL_PORTS = {"IMAP": {"993"}, "POP3": {"995"}, "SMTP": {"465", "587"}}
MAIL_PORTS_BY_DIRECTION = {
    "Incoming": MAIL_PORTS["IMAP"] | MAIL_PORTS["POP3"],
    "Outgoing": MAIL_PORTS["SMTP"],
}
DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
GOLDEN_PATH = Path(__file__).with_name("golden_queries.json")
EN_DASH = "\u2013"  # the content writes time ranges with an en dash, as in 08:00\u201322:00


def content_dir() -> Traversable:
    return files("answerdesk.demo") / "content"


@cache
def documents() -> dict[str, str]:
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in content_dir().iterdir()
        if entry.name.endswith(".md")
    }


@cache
def faq() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((content_dir() / "faq.json").read_text(encoding="utf-8"))
    return data


@cache
def golden() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
    return data


def faq_texts() -> dict[str, str]:
    return {f"faq.json #{n}": f"{p['question']}\n{p['answer']}" for n, p in enumerate(faq(), start=1)}


def all_texts() -> dict[str, str]:
    return {**documents(), **faq_texts()}


def headings(markdown: str) -> list[tuple[int, str]]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [
        (int(tok.tag[1:]), tokens[i + 1].content)
        for i, tok in enumerate(tokens)
        if tok.type == "heading_open"
    ]


def words(markdown: str) -> int:
    return sum(1 for token in markdown.split() if re.search(r"\w", token))


def findall(pattern: str, texts: dict[str, str]) -> Iterator[tuple[str, re.Match[str]]]:
    for name, text in texts.items():
        for match in re.finditer(pattern, text):
            yield name, match


def billing_plan_prices() -> dict[str, tuple[str, str]]:
    rows = re.findall(
        r"^\| (Starter|Business|Pro) \| £(\d+\.\d\d) \| £(\d+\.\d\d) \|", documents()["billing.md"], re.M
    )
    return {plan: (monthly, yearly) for plan, monthly, yearly in rows}


# --- documents -------------------------------------------------------------------------------------


def test_there_are_8_to_12_documents_and_at_least_two_tables() -> None:
    docs = documents()
    tables = sum(len(re.findall(r"^\|[-| :]+\|$", text, re.M)) for text in docs.values())
    assert 8 <= len(docs) <= 12, sorted(docs)
    assert tables >= 2


@pytest.mark.parametrize("name", sorted(documents()))
def test_document_has_a_title_sections_and_a_sensible_length(name: str) -> None:
    text = documents()[name]
    found = headings(text)
    assert found[0][0] == 1, "the document must open with a level-1 title"
    assert [level for level, _ in found].count(1) == 1
    assert sum(1 for level, _ in found if level == 2) >= 3
    assert 400 <= words(text) <= 1500, words(text)


@pytest.mark.parametrize("name", sorted(documents()))
def test_document_goes_through_ingest_with_its_title(name: str) -> None:
    text = documents()[name]
    extracted = extract(text.encode(), filename=name)
    assert extracted.title == headings(text)[0][1]
    assert len(extracted.sections) >= 3


# --- FAQ -------------------------------------------------------------------------------------------


def test_faq_pairs_are_complete_tagged_and_unique() -> None:
    pairs = faq()
    assert 25 <= len(pairs) <= 40
    for pair in pairs:
        assert set(pair) == {"question", "answer", "tags"}, pair
        assert pair["question"].strip() and pair["answer"].strip(), pair
        assert pair["tags"] and set(pair["tags"]) <= ALLOWED_TAGS, pair
    normalised = [re.sub(r"\W+", " ", p["question"]).strip().lower() for p in pairs]
    assert len(normalised) == len(set(normalised))


def test_faq_is_accepted_by_ingest() -> None:
    extracted = extract((content_dir() / "faq.json").read_bytes(), filename="faq.json")
    assert len(extracted.faqs) == len(faq())


@pytest.mark.parametrize(
    "must_mention",
    [
        ("nameservers", "ns1.northwind-hosting.example"),
        ("plans cost", "£4.99"),
        ("refund", "30-day"),
        ("SMTP port", "587"),
        ("renew", "Let's Encrypt"),
        ("point my domain", "ns2.northwind-hosting.example"),
    ],
)
def test_faq_answers_the_questions_support_gets_most(must_mention: tuple[str, str]) -> None:
    in_question, in_answer = must_mention
    assert any(in_question.lower() in p["question"].lower() and in_answer in p["answer"] for p in faq()), (
        must_mention
    )


# --- golden queries --------------------------------------------------------------------------------


def test_golden_queries_have_the_agreed_shape_and_mix() -> None:
    queries = golden()
    kinds = [q["kind"] for q in queries]
    assert 40 <= len(queries) <= 60
    assert all(set(q) == {"query", "expected", "section", "kind"} for q in queries)
    assert set(kinds) == GOLDEN_KINDS
    assert 8 <= kinds.count("out_of_scope") <= 10
    assert len({q["query"].lower() for q in queries}) == len(queries)
    for q in queries:
        assert (q["expected"] is None) == (q["kind"] == "out_of_scope"), q
        if q["expected"] is None:
            assert q["section"] is None, q


@pytest.mark.parametrize(
    "query", [q for q in golden() if q["expected"]], ids=lambda q: re.sub(r"\W+", "-", q["query"]).strip("-")
)
def test_golden_query_points_to_an_existing_document_and_heading(query: dict[str, Any]) -> None:
    assert query["expected"] in documents()
    if query["section"] is not None:
        text = documents()[query["expected"]]
        extracted = extract(text.encode(), filename=query["expected"])
        ingested_headings = {h for s in extracted.sections for h in s.heading_path}
        assert query["section"] in ingested_headings


# --- facts agree everywhere ------------------------------------------------------------------------


def test_nameservers_are_spelled_identically_everywhere() -> None:
    found = {m.group(0) for _, m in findall(r"\bns\d+\.[a-z0-9.-]*[a-z0-9]", all_texts())}
    assert found == NAMESERVERS
    assert all(ns in documents()["dns.md"] for ns in NAMESERVERS)


def test_billing_table_lists_three_plans_with_yearly_at_ten_months() -> None:
    prices = billing_plan_prices()
    assert set(prices) == {"Starter", "Business", "Pro"}
    for monthly, yearly in prices.values():
        assert round(float(monthly) * 10, 2) == float(yearly)


def test_plan_prices_quoted_anywhere_match_the_billing_table() -> None:
    prices = billing_plan_prices()
    quoted = list(
        findall(r"(Starter|Business|Pro)\b[^.£]*?£(\d+\.\d\d) a month or £(\d+\.\d\d) a year", all_texts())
    )
    assert len(quoted) >= 3, "the FAQ should quote every plan's price"
    for where, m in quoted:
        assert prices[m.group(1)] == (m.group(2), m.group(3)), where


@pytest.mark.parametrize(
    ("pattern", "expected", "at_least"),
    [
        (r"(\d+)-day money-back", "30", 3),
        (r"within (\d+) days of your first payment", "30", 2),
        (r"suspen\w+ (\d+) days after the due date", "7", 2),
        (r"IPS tag to \**([A-Z0-9-]+)", "NORTHWINDHOST", 2),
        (r"kept for \**(\d+) days", "14", 2),
        (r"maximum of \**(\d+) GB", "10", 2),
        (r"up to \**(\d+) messages per hour", "500", 2),
        (r"expires after \**(\d+) minutes", "60", 2),
        (r"at least \**(\d+) characters", "12", 3),
        (r"(\+44[\d ]*\d)", "+44 20 7946 0321", 2),
        (r"v=spf1 (\+a \+mx include:[\w.-]+)", "+a +mx include:spf.northwind-hosting.example", 3),
    ],
)
def test_stated_fact_is_the_same_everywhere(pattern: str, expected: str, at_least: int) -> None:
    found = [(where, m.group(1)) for where, m in findall(pattern, all_texts())]
    assert len(found) >= at_least, found
    assert {value for _, value in found} == {expected}, found


def test_every_mail_port_named_next_to_a_protocol_is_a_documented_one() -> None:
    table = set(re.findall(r"^\| (IMAP|POP3|SMTP) \| (\d+) \|", documents()["email-setup.md"], re.M))
    assert table == {(proto, port) for proto, ports in MAIL_PORTS.items() for port in ports}
    allowed = {k.lower(): v for k, v in (MAIL_PORTS | MAIL_PORTS_BY_DIRECTION).items()}
    keyword = re.compile(rf"\b({'|'.join(allowed)})\b", re.I)
    checked = 0
    for where, text in all_texts().items():
        for sentence in re.split(r"\n|(?<=[.!?])\s+", text):
            named = {k.lower() for k in keyword.findall(sentence)}
            if not named:
                continue
            ports = set(re.findall(r"\bport\s+\**(\d+)", sentence))
            checked += len(ports)
            assert ports <= set().union(*(allowed[k] for k in named)), (where, sentence)
    assert checked >= 10


def test_support_hours_everywhere_are_those_of_the_about_page() -> None:
    about_section = documents()["about.md"].split("## Support hours", 1)[1].split("\n## ", 1)[0]
    official = set(re.findall(rf"\d\d:\d\d{EN_DASH}\d\d:\d\d", about_section))
    assert official == {f"08:00{EN_DASH}22:00", f"09:00{EN_DASH}17:30"}
    for where, m in findall(rf"\d\d:\d\d\s*[-{EN_DASH}]\s*\d\d:\d\d", all_texts()):
        assert m.group(0) in official, where


def test_only_example_domains_and_documentation_addresses_are_used() -> None:
    texts = all_texts()
    hosts = [(w, m.group(1)) for w, m in findall(r"https?://([a-z0-9.-]*[a-z0-9])", texts)]
    mails = [(w, m.group(1)) for w, m in findall(r"\b[\w.+-]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)", texts)]
    assert hosts and mails
    for where, host in hosts + mails:
        assert host.endswith(".example"), (where, host)
    for where, m in findall(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{1,4}:[0-9a-f:]*::[0-9a-f]*\b", texts):
        address = ipaddress.ip_address(m.group(0))
        assert any(address in net for net in DOCUMENTATION_NETWORKS), (where, m.group(0))
