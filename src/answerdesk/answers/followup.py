"""Spots follow-up questions that lean on the conversation and turns them into standalone search queries."""

from __future__ import annotations

import re
from collections.abc import Sequence

from answerdesk.answers.prompt import Turn

# Openers that always hand the topic over from the previous question.
_STRONG_OPENER = re.compile(
    r"^(?:and\s+|but\s+|ok(?:ay)?,?\s+|so\s+)?"
    r"(?:what|how)\s+about\b|^(?:and\s+)?(?:the\s+)?same\s+(?:thing\s+|question\s+)?(?:for|with|on|in)\b"
    r"|^and\s+(?:for|on|in|with|if|what\s+if)\b|^what\s+of\b",
    re.IGNORECASE,
)
# Openers that continue a conversation but may start a complete question ("And how do I add an MX record?").
_WEAK_OPENER = re.compile(r"^(?:and|also|but|or|so|then|ok(?:ay)?|plus)\b[,:]?\s*", re.IGNORECASE)
# Elliptical starts: "for the Pro plan?", "on Android?", "in Thunderbird?".
_PREPOSITION_START = re.compile(r"^(?:for|on|in|with|via|from|to|by|using)\b", re.IGNORECASE)
_OPENER_PREPOSITION = re.compile(r"\b(?:for|with|on|in)$", re.IGNORECASE)
_TRAILING_TOO = re.compile(r"\b(?:too|as\s+well|either|also)\s*\W*$", re.IGNORECASE)
_WORD = re.compile(r"[\w.'@-]+")

_PRONOUNS = frozenset(
    {"it", "its", "they", "them", "their", "those", "these", "that", "this", "one", "there"}
)
_DEMONSTRATIVES = frozenset({"that", "this", "those", "these"})
# Words that do not name a topic, so a pronoun after them still has nothing to refer to.
_NON_TOPIC = frozenset(
    {
        "a", "an", "the", "and", "or", "but", "so", "if", "then", "also", "too", "just", "still", "please",
        "i", "me", "my", "we", "us", "our", "you", "your", "he", "she", "his", "her",
        "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "done", "doing", "have", "has",
        "had", "can", "could", "will", "would", "should", "shall", "may", "might", "must", "need", "needs",
        "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "much", "many", "long",
        "often", "soon", "else", "not", "no", "yes",
        "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "can't", "won't", "cannot",
        "to", "for", "of", "on", "in", "at", "by", "with", "from", "about", "into", "up", "out", "off",
        "get", "set", "make", "change", "find", "use", "see", "fix", "go", "turn", "work", "works",
        "mean", "means", "cost", "costs", "take", "takes", "happen", "happens", "there", "here", "again",
        "explain", "tell", "show", "give", "know", "free", "included", "possible", "safe", "right",
        "really", "exactly", "same", "way", "there's", "it's", "that's", "what's", "how's",
    }
)  # fmt: skip
# After "that"/"this" these words make it a determiner or conjunction, not a stand-in for a topic.
_FOLLOWED_BY_SUBJECT = frozenset({"i", "you", "we", "my", "your", "our", "the", "a", "an", "it", "they"})
_SHORT_WORDS = 4  # "How long?", "Why?", "Webmail too?" are follow-ups whatever they contain
_WEAK_REST_TOPICS = 2

_REWRITE_LABEL = re.compile(
    r"^\s*(?:[-*•>]\s*|\d+[.)]\s*)?(?:\*\*)?(?:(?:standalone|rewritten|search|final|new)\s+)*"
    r"(?:query|question|search|rewrite|output|answer)\s*(?:\*\*)?\s*[:\uff1a-]\s*(?:\*\*)?",
    re.IGNORECASE,
)
_QUOTES = "\"'`*\u201c\u201d\u2018\u2019\u00ab\u00bb"
_REFUSAL = re.compile(r"^(?:i'?m sorry|sorry|i cannot|i can't|as an ai)\b", re.IGNORECASE)
MAX_REWRITE_CHARS = 200
_MAX_REWRITE_FACTOR = 4  # a rewrite may add the topic, not write an essay


def looks_like_followup(question: str) -> bool:
    """True for short questions that only make sense with the conversation before them."""
    text = question.strip()
    words = _words(text)
    if not words:
        return False
    if _STRONG_OPENER.search(text):
        return True
    weak = _WEAK_OPENER.match(text)
    if weak and text[weak.end() :].strip():
        rest = _words(text[weak.end() :])
        if len(rest) <= _SHORT_WORDS or len(_topics(rest)) < _WEAK_REST_TOPICS:
            return True
        return looks_like_followup(text[weak.end() :])
    if len(words) <= _SHORT_WORDS and (_PREPOSITION_START.match(text) or not _topics(words)):
        return True
    if len(words) <= _SHORT_WORDS + 2 and _TRAILING_TOO.search(text):
        return True
    return _has_dangling_pronoun(words) or _ends_on_reference(words)


def standalone_query(question: str, history: Sequence[Turn]) -> str:
    """The follow-up completed from the previous customer question, for search without an LLM.

    "How do I reset my cPanel password?" then "and for webmail?" gives "How do I reset my webmail
    password?" when the earlier question has one name to swap; otherwise both are joined.
    """
    text = " ".join(question.split())
    previous = _previous_question(history, text)
    if not previous or not looks_like_followup(text):
        return text
    subject = _subject(text)
    if subject:
        swapped = _swap_name(previous, subject, any_kind=_asks_same_for(text))
        if swapped:
            return swapped
        return f"{previous} {subject}"
    return f"{previous} {text}"


def clean_rewrite(model_output: str, fallback: str) -> str:
    """The first line of a model's rewrite without labels or quotes; ``fallback`` when that is unusable."""
    for line in model_output.strip().splitlines():
        candidate = _REWRITE_LABEL.sub("", line.strip(), count=1).strip().strip(_QUOTES).strip()
        if candidate:
            break
    else:
        return fallback
    limit = max(MAX_REWRITE_CHARS, len(fallback) * _MAX_REWRITE_FACTOR)
    if len(candidate) > limit or _REFUSAL.match(candidate):
        return fallback
    return candidate


def _words(text: str) -> list[str]:
    # Curly apostrophes as straight ones, so "don\u2019t" is the stopword "don't".
    words = (w.strip(".'-").casefold() for w in _WORD.findall(text.replace("\u2019", "'")))
    return [w for w in words if w]


def _topics(words: Sequence[str]) -> list[str]:
    return [w for w in words if w not in _NON_TOPIC and w not in _PRONOUNS]


def _has_dangling_pronoun(words: list[str]) -> bool:
    """A pronoun before any topic word: "Does it renew?", but not "Is SSL free and does it renew?"."""
    few_topics = len(_topics(words)) <= 1
    for index, word in enumerate(words):
        if word in _PRONOUNS:
            following = words[index + 1] if index + 1 < len(words) else ""
            if word in _DEMONSTRATIVES and following in _FOLLOWED_BY_SUBJECT:
                continue  # "so that my site…", "check this: the…": a conjunction
            if word in _DEMONSTRATIVES and _is_topic(following) and not few_topics:
                continue  # "move this domain to Pro": a determiner in a question with its own topic
            if word == "one" or word == "there":
                continue  # "one of my sites", "is there a limit": rarely a reference on their own
            return True
        if _is_topic(word):
            return False
    return False


def _ends_on_reference(words: list[str]) -> bool:
    """ "Is there a fee for that?": a closing pronoun with hardly any topic of its own to point at."""
    return words[-1] in _PRONOUNS - {"one", "there"} and len(_topics(words)) <= _WEAK_REST_TOPICS


def _is_topic(word: str) -> bool:
    return word not in _NON_TOPIC and word not in _PRONOUNS


def _previous_question(history: Sequence[Turn], current: str) -> str:
    customer = [" ".join(t.content.split()) for t in history if t.role == "customer" and t.content.strip()]
    if customer and customer[-1] == current:
        customer.pop()  # the caller stored the current question already
    return customer[-1] if customer else ""


def _subject(followup: str) -> str:
    """What an elliptical follow-up is about: "and for webmail?" -> "webmail"; "" for pronoun questions."""
    text = followup.strip().rstrip("?!.").strip()
    stripped = _STRONG_OPENER.sub("", text, count=1).strip()
    if stripped == text:
        weak = _WEAK_OPENER.match(text)
        stripped = text[weak.end() :] if weak else text
    stripped = _PREPOSITION_START.sub("", stripped, count=1)
    stripped = _TRAILING_TOO.sub("", stripped).strip(" ,")
    stripped = re.sub(r"^(?:the|a|an|my|your)\s+", "", stripped, flags=re.IGNORECASE)
    words = _words(stripped)
    # A rest with a verb or a pronoun is a new question in itself, not a name to put in the old one.
    if not words or len(words) > 4 or any(w in _PRONOUNS or w in _NON_TOPIC for w in words):
        return ""
    return stripped


def _asks_same_for(followup: str) -> bool:
    """ "and for webmail?", "what about on iPhone?": the same question for something else (a preposition).

    "what about the ports?" asks about another aspect of the same thing, so nothing is swapped for it.
    """
    text = followup.strip().rstrip("?!.").strip()
    opener = _STRONG_OPENER.match(text) or _WEAK_OPENER.match(text)
    said = opener.group(0) if opener else ""
    rest = text[len(said) :].strip()
    return bool(_OPENER_PREPOSITION.search(said)) or _PREPOSITION_START.match(rest) is not None


def _swap_name(previous: str, subject: str, *, any_kind: bool = True) -> str:
    """The previous question with the name ``subject`` stands in for replaced by it, or "" when unclear.

    cPanel, Outlook, IMAP, .com: the kind of word a follow-up swaps for another of its kind; with
    ``any_kind`` a lone name is swapped even for a word of another kind ("cPanel" for "webmail").
    """
    tokens = previous.split(" ")
    names = [
        i
        for i, token in enumerate(tokens)
        if i > 0 and not tokens[i - 1].endswith((".", "?", "!")) and _shape(token) is not None
    ]
    wanted = _shape(subject) or "word"
    alike = [i for i in names if _shape(tokens[i]) == wanted]
    if len(alike) == 1:
        i = alike[0]
    elif any_kind and len(names) == 1 and "tld" not in (wanted, _shape(tokens[names[0]])):
        i = names[0]
    else:
        return ""
    words = subject.split()
    following = tokens[i + 1].strip("?!.,;:").casefold() if i + 1 < len(tokens) else ""
    if len(words) > 1 and words[-1].casefold() == following:
        words.pop()  # "the Pro plan" into "the Starter plan cost": one "plan" is enough
    core = tokens[i].rstrip("?!.,;:")
    tokens[i] = " ".join(words) + tokens[i][len(core) :]
    return " ".join(tokens)


def _shape(token: str) -> str | None:
    """ "tld" (.co.uk), "acronym" (IMAP, POP3), "name" (cPanel, Outlook), "word" (webmail) or None."""
    core = token.strip("?!,;:()\"'")
    if core.startswith(".") and len(core) > 1:
        return "tld"
    core = core.strip(".")
    if len(core) < 2 or not core[0].isalnum() or core.casefold() in ("i'm", "i've", "i'd"):
        return None
    if core.isupper() or (any(c.isdigit() for c in core) and any(c.isupper() for c in core)):
        return "acronym"
    if core[0].isupper() or any(c.isupper() for c in core[1:]):
        return "name"
    return None
