"""Follow-up questions to offer after an answer, taken from retrieved passages so each one has an answer."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from answerdesk.answers.headings import heading_parts
from answerdesk.answers.passages import Passage, split_faq
from answerdesk.answers.words import containment, content_words, jaccard

MAX_SUGGESTION_CHARS = 90
_SIMILAR_JACCARD = 0.5
_SIMILAR_CONTAINMENT = 0.75

# Gerunds that open help-centre headings, with the verb a customer would ask with. A heading whose
# first word is not listed is offered as written rather than turned into a question by guesswork.
_VERBS = {
    "accessing": "access", "activating": "activate", "adding": "add", "backing": "back",
    "blocking": "block", "buying": "buy", "cancelling": "cancel", "canceling": "cancel",
    "changing": "change", "checking": "check", "choosing": "choose", "configuring": "configure",
    "connecting": "connect", "contacting": "contact", "creating": "create", "deleting": "delete",
    "disabling": "disable", "downgrading": "downgrade", "downloading": "download", "editing": "edit",
    "enabling": "enable", "exporting": "export", "finding": "find", "fixing": "fix",
    "forwarding": "forward", "getting": "get", "importing": "import", "installing": "install",
    "keeping": "keep", "logging": "log", "making": "make", "managing": "manage", "migrating": "migrate",
    "moving": "move", "opening": "open", "ordering": "order", "paying": "pay", "pointing": "point",
    "protecting": "protect", "recovering": "recover", "registering": "register", "removing": "remove",
    "renewing": "renew", "requesting": "request", "resetting": "reset", "restoring": "restore",
    "securing": "secure", "sending": "send", "setting": "set", "signing": "sign", "switching": "switch",
    "transferring": "transfer", "troubleshooting": "troubleshoot", "turning": "turn",
    "unlocking": "unlock", "updating": "update", "upgrading": "upgrade", "uploading": "upload",
    "using": "use", "verifying": "verify",
}  # fmt: skip
# Headings that say nothing on their own ("Step by step"); the heading above them is used instead.
_GENERIC = frozenset(
    {
        "step by step", "steps", "overview", "introduction", "summary", "notes", "note", "details",
        "more information", "examples", "example", "tips", "faq", "faqs", "general", "other",
        "see also", "next steps", "before you start", "requirements",
    }
)  # fmt: skip
# Second-person words of the help centre become first person in the customer's question.
_PERSON = {"your": "my", "yours": "mine", "our": "your", "ours": "yours"}
# A heading that leans on the one above it ("Checking that it worked") cannot stand alone.
_LEANS_ON_CONTEXT = re.compile(r"\b(?:it|this|that|these|those|they|them|there)\b", re.IGNORECASE)
_NEEDS_AGREEMENT = re.compile(r"\b(?:you|we|us|yourself)\b", re.IGNORECASE)
_WORD = re.compile(r"\S+")


def suggest_followups(
    question: str, passages: Sequence[Passage], used: set[int], *, limit: int = 3
) -> list[str]:
    """FAQ questions of passages the answer did not use, then their section headings phrased as questions.

    Anything close to the question just asked, to an earlier suggestion, or over 90 characters is left out.
    """
    asked = content_words(question)
    chosen: list[str] = []
    taken: list[set[str]] = []
    unused = [p for p in passages if p.n not in used]
    for suggestion in _candidates(unused):
        if len(chosen) >= limit:
            break
        words = content_words(suggestion)
        if not words or len(suggestion) > MAX_SUGGESTION_CHARS:
            continue
        if _similar(words, asked) or any(_similar(words, other) for other in taken):
            continue
        chosen.append(suggestion)
        taken.append(words)
    return chosen


def heading_question(heading: str) -> str:
    """ "Resetting the cPanel password" -> "How do I reset the cPanel password?"; others as written."""
    text = " ".join(heading.split()).rstrip(".:")
    words = _WORD.findall(text)
    if not words or text.endswith("?"):
        return text
    verb = _VERBS.get(words[0].casefold())
    if verb is None or _NEEDS_AGREEMENT.search(text):
        return text
    rest = [_PERSON.get(w.casefold(), w) for w in words[1:]]
    if len(rest) > 1 and rest[0].casefold() in ("or", "and") and rest[1].casefold() in _VERBS:
        rest[1] = _VERBS[rest[1].casefold()]  # "Upgrading or downgrading your plan"
    return " ".join(["How do I", verb, *rest]) + "?"


def _candidates(passages: Sequence[Passage]) -> Iterator[str]:
    for passage in passages:
        faq = split_faq(passage.text) if passage.kind == "faq" else None
        if faq:
            yield faq[0]
    for passage in passages:
        if passage.kind != "faq" and (heading := _standalone_heading(heading_parts(passage))):
            yield heading_question(heading)


def _standalone_heading(parts: list[str]) -> str:
    """The innermost heading that makes sense on its own, or "" (a document title alone is too broad)."""
    for heading in reversed(parts):
        if heading.casefold().rstrip(":") not in _GENERIC and not _LEANS_ON_CONTEXT.search(heading):
            return heading
    return ""


def _similar(a: set[str], b: set[str]) -> bool:
    return jaccard(a, b) >= _SIMILAR_JACCARD or containment(a, b) >= _SIMILAR_CONTAINMENT
