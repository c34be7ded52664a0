"""Cheap surface cues for customer messages: emphasis, frustration/urgency phrases, requests for a human."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Short all-caps tokens in support messages are mostly product and protocol names, not shouting.
_ACRONYMS = frozenset(
    {
        *("HTTP", "HTTPS", "HTML", "JSON", "SMTP", "IMAP", "CPANEL", "WHMCS", "PLESK", "NGINX", "APACHE"),
        *("MYSQL", "WHOIS", "DKIM", "DMARC", "NXDOMAIN", "SERVFAIL", "ASAP", "URGENT", "HELP", "GDPR"),
        *("CNAME", "AAAA", "HOST", "ADMIN", "SUDO", "ROOT", "NULL", "TRUE", "FALSE"),
    }
)
# Letters only, not touching digits, underscores or hyphens, so ERR_SSL_PROTOCOL or X-FORWARDED do not count.
_CAPS_WORD = re.compile(r"(?<![\w-])[A-Z]{4,}(?![\w-])")
_LETTER = re.compile(r"[A-Za-z]")
_UPPER = re.compile(r"[A-Z]")
_REPEATED_PUNCT = re.compile(r"(?:[!?]\s*){3,}")

# Spans like "not urgent", "no rush", "non-critical" are removed before looking for urgency.
_NEGATED_URGENCY = re.compile(
    r"\b(?:not|no|non|never|nothing|isn'?t|wasn'?t|without)\b[\s-]+(?:\w+\s+)?"
    r"(?:urgent\w*|rush|hurry|emergency|critical|asap)",
    re.IGNORECASE,
)

# Escalation and urgency: these flag a message whatever its sentiment score ("Thanks, but this is urgent").
_ESCALATION = re.compile(
    r"""
    \b(?:second|third|fourth|fifth|sixth|\d+(?:st|nd|rd|th)|umpteenth|nth|many)\s+time\b
    | \bhow\s+many\s+(?:more\s+)?times\b
    | \b(?:again\s+and\s+again|over\s+and\s+over)\b
    | \bstill\s+(?:not|isn'?t|doesn'?t|don'?t|won'?t|can'?t|cannot|hasn'?t|haven'?t|no
                 |broken|down|failing|waiting)\b
    | \bunacceptable\b | \bridiculous\b | \boutrageous\b | \bdisgrace(?:ful)?\b
    | \bfed\s+up\b | \bsick\s+(?:and\s+tired\s+)?of\b | \b(?:had|have)\s+enough\b
    | \bwaste\s+of\s+(?:my\s+)?(?:time|money)\b
    | \bworst\s+(?:\w+\s+)?(?:service|support|host\w*|company|experience)\b
    | \bno\s*(?:one|body)\s+(?:has\s+|ever\s+|even\s+)?
      (?:responded|replied|answered|helped|got\s+back|called)\b
    | \b(?:chargeback|legal\s+action|my\s+lawyer|consumer\s+protection)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_URGENCY = re.compile(
    r"""
    \burgent(?:ly)?\b | \ba\.?s\.?a\.?p\b | \bemergency\b | \bimmediately\b | \bright\s+now\b | \bcritical\b
    | \bdown\s+(?:for|since)\s+(?:hours|days|ages|over|more|\d+|an?\s+(?:hour|day|week))
    | \b(?:site|website|server|shop|store|email|e-mail|mail|service|everything)\s+
      (?:is\s+|has\s+been\s+|went\s+|keeps\s+going\s+)?(?:completely\s+)?(?:down|offline)\b
    | \blosing\s+(?:money|sales|customers|orders|business)\b | \bproduction\s+is\s+down\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Cues that mean frustration only when the message is not positive: "cancel my account" is also asked
# calmly, and "!!!" or a swear word also come with delight.
_CHURN = re.compile(
    r"""
    \b(?:cancel|close|terminate|delete)\s+(?:my|our|the)\s+(?:\w+\s+)?(?:account|subscription|service|plan|contract)\b
    | \b(?:switch|move|moving|switching|go|going)\s+to\s+(?:another|a\s+different|a\s+new|your\s+competitor)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_PROFANITY = re.compile(
    r"\b(?:fuck\w*|shit\w*|bullshit|crap\w*|damn\w*|wtf|ffs|pissed|bloody\s+hell|screw\s+(?:you|this))\b",
    re.IGNORECASE,
)

_SWEAR = r"(?:(?:bloody|damn|damned|fucking|goddamn|freaking|effing)\s+)?"
_HUMAN = r"""(?:real\s+|live\s+|actual\s+|human\s+)?
    (?:human(?:\s+being)?|person|agent|representative|rep|operator|staff(?:\s+member)?|employee
      |assistant|manager|supervisor|somebody|someone|people)"""
_WANTS_HUMAN = re.compile(
    rf"""
    \b(?:(?:talk|speak|chat|connect|transfer|escalate)(?:s|ed|ing|ting|red|ring)?|put)\s+(?:me\s+)?
      (?:(?:to|with|through\s+to)\s+)?(?:a|an|the|some|your|one\s+of\s+your)?\s*{_SWEAR}{_HUMAN}\b
    | \b(?:contact|reach)(?:ing)?\s+(?:(?:a|an|the|some|your)\s+{_SWEAR}{_HUMAN}|somebody|someone)\b
    | \b(?:want|need|get\s+me|give\s+me|prefer|request|like|get|have)\s+
      (?:a|an|to\s+(?:talk|speak|chat)\s+(?:to|with)\s+(?:a|an)?)?\s*(?:real|live|actual)\s+(?:human|person|agent|people)\b
    | \b(?:want|need|get\s+me|give\s+me|request)\s+(?:a|an)\s+(?:human|agent|operator|representative)\b
    | \b(?:is\s+there|are\s+there)\s+(?:a|any)\s+(?:real\s+)?(?:human|person|people|agent)\b
    | \b(?:don'?t|do\s+not)\s+want\s+(?:to\s+(?:talk|speak|chat)\s+(?:to|with)\s+)?
      (?:a|the|this|your)\s+(?:bot|robot|machine|ai|chatbot)\b
    | \b(?:no\s+more|stop\s+the|not\s+a)\s+(?:bots?|robots?|chatbots?)\b
    | ^\W*(?:human|agent|operator|representative|real\s+person|live\s+agent)(?:\s+please)?\W*$
    | \b(?:mit\s+)?(?:einem|einer)\s+(?:echten\s+)?(?:menschen|mitarbeiter(?:in)?|person|berater(?:in)?)\s+
      (?:\w+\s+)?(?:sprechen|reden|verbinden)\b
    | \bparler\s+(?:à|a|avec)\s+(?:un|une|quelqu['\u2019]un)
      (?:\s+(?:vrai|humain|personne|agent|conseill\w+|opérat\w+))?
    | \bhablar\s+con\s+(?:un|una|alguien)(?:\s+(?:humano|persona|agente|operador\w*|asesor\w*))?
    | \bparlare\s+con\s+(?:un|una|qualcuno)(?:\s+(?:operatore|persona|umano))?
    | \bfalar\s+com\s+(?:um|uma|alguém)(?:\s+(?:atendente|humano|pessoa|agente))?
    | \b(?:spreken|praten)\s+met\s+(?:een\s+)?(?:medewerker|mens|persoon)\b
    | \bmet\s+een\s+(?:medewerker|mens)\s+(?:spreken|praten)\b
    """,
    re.IGNORECASE | re.VERBOSE | re.MULTILINE,
)
# Every branch of _WANTS_HUMAN names a person or a bot with one of these (a superset, matched anywhere).
_WANTS_HUMAN_WORD = re.compile(
    r"human|person|agent|rep|operator|staff|employee|assistant|manager|supervisor|somebody|someone|people"
    r"|bot|machine|\bai\b|mensch|mitarbeiter|berater|parler|hablar|parlare|falar|spreken|praten|medewerker"
    r"|\bmens\b",
    re.IGNORECASE,
)
# "I don't need to talk to a human" is not a request, "I don't know how to talk to a human" is.
_NEGATION_BEFORE = re.compile(
    r"\b(?:(?:don'?t|do\s+not|doesn'?t|does\s+not|no)\s+(?:need|want|have)|never|without)\b(?:\s+\w+){0,2}\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Cues:
    """What the rules found in one message; `unconditional` cues flag it whatever its score."""

    emphasis: float
    unconditional: tuple[str, ...]
    when_not_positive: tuple[str, ...]
    when_negative: tuple[str, ...]


def is_shouting(text: str) -> bool:
    """Mostly upper-case, or two or more shouted words that are not acronyms, or one long one."""
    # Counted by what a substitution removes: done in C, several times faster than a Python loop.
    letters = len(text) - len(_LETTER.sub("", text))
    upper = len(text) - len(_UPPER.sub("", text))
    if letters >= 12 and upper / letters >= 0.7:
        return True
    words = [w for w in _CAPS_WORD.findall(text) if w not in _ACRONYMS]
    return len(words) >= 2 or any(len(w) >= 8 for w in words)


def emphasis(text: str, shouting: bool | None = None) -> float:
    """0..1: exclamation marks (up to four), repeated question marks and shouting, as VADER weighs them."""
    level = min(text.count("!"), 4) * 0.25
    level += min(max(text.count("?") - 1, 0), 2) * 0.125
    if is_shouting(text) if shouting is None else shouting:
        level += 0.5
    return min(level, 1.0)


def _matches(pattern: re.Pattern[str], text: str) -> list[str]:
    return [m.group(0).strip().lower() for m in pattern.finditer(text)]


def find_cues(text: str) -> Cues:
    calm = _NEGATED_URGENCY.sub(" ", text)
    when_not_positive: list[str] = []
    shouting = is_shouting(text)
    if shouting:
        when_not_positive.append("shouting")
    if _REPEATED_PUNCT.search(text):
        when_not_positive.append("repeated !?")
    when_not_positive += _matches(_PROFANITY, text)
    return Cues(
        emphasis=emphasis(text, shouting),
        unconditional=tuple(_matches(_ESCALATION, calm) + _matches(_URGENCY, calm)),
        when_not_positive=tuple(when_not_positive),
        when_negative=tuple(_matches(_CHURN, text)),
    )


def wants_human(text: str) -> bool:
    """An explicit request to reach a person ("talk to a human", "real person", "operator please", ...)."""
    if not _WANTS_HUMAN_WORD.search(text):  # the full pattern is slow, and most messages name nobody
        return False
    for match in _WANTS_HUMAN.finditer(text):
        if not _NEGATION_BEFORE.search(text[max(0, match.start() - 40) : match.start()]):
            return True
    return False
