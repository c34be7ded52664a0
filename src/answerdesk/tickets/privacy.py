"""Removing a customer's personal data from ticket text before it becomes shared knowledge (an FAQ).

Pure functions, no I/O. What goes: greeting lines ("Hi John,"), closing lines and signatures,
e-mail addresses, card-like numbers, phone numbers, IP addresses, the client's domain names, ticket
numbers, and the client's names. Each is replaced by a bracketed placeholder ("[email]") so the text
still reads, except greetings and signatures, which are dropped.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

EMAIL = "[email]"
PHONE = "[phone]"
IP = "[IP address]"
DOMAIN = "[domain]"
CARD = "[card number]"
TICKET = "[ticket number]"
NAME = "[name]"

# Domains of webmail providers say nothing about the client: never treated as theirs.
FREEMAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
        "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net",
        "gmx.de", "web.de", "mail.com", "yandex.com", "zoho.com", "fastmail.com",
    }
)  # fmt: skip

FILE_EXTENSIONS = frozenset(
    {
        "php", "html", "htm", "txt", "log", "js", "css", "json", "xml", "yml", "yaml", "ini", "conf",
        "cfg", "sql", "csv", "zip", "gz", "tar", "tgz", "bz2", "rar", "jpg", "jpeg", "png", "gif", "svg",
        "webp", "pdf", "doc", "docx", "xls", "xlsx", "py", "sh", "pl", "rb", "exe", "msi", "bak", "htaccess",
        "md", "cgi", "asp", "aspx", "jsp", "key", "crt", "pem", "csr", "env", "lock", "tmp", "old",
    }
)  # fmt: skip

_GREETING_WORDS = r"(?:hi|hello|hey|dear|greetings|good\s+(?:morning|afternoon|evening|day)|hiya|howdy)"
# A line that is only a greeting, with up to four more words (a name, "there", "team").
_GREETING_LINE = re.compile(rf"^\s*{_GREETING_WORDS}\b(?:\s+[\w.'-]+){{0,4}}\s*[,!.:]?\s*$", re.I)
# A greeting opening a line that goes on: "Hi John, your mailbox is ..." keeps "your mailbox is ...".
_GREETING_PREFIX = re.compile(rf"^\s*{_GREETING_WORDS}\b(?:\s+[\w.'-]+){{0,3}}\s*[,!:]\s+(?=\S)", re.I)
_CLOSING = re.compile(
    r"^\s*(?:kind(?:est)?\s+regards|best\s+regards|warm\s+regards|regards|best\s+wishes|best|cheers|"
    r"sincerely|yours\s+(?:sincerely|truly)|thanks(?:\s+(?:again|in\s+advance|a\s+lot))?|thank\s+you"
    r"(?:\s+(?:again|in\s+advance))?|many\s+thanks|thx|all\s+the\s+best|take\s+care)"
    r"(?:\s*[,!.-]\s*[\w .'-]{0,40})?\s*[,!.]?\s*$",
    re.I,
)
_SIGNATURE_DELIMITER = re.compile(r"^\s*--\s*$")
_SENT_FROM = re.compile(r"^\s*sent from my \w+", re.I)
SIGNATURE_MAX_LINES = 6
SIGNATURE_LINE_CHARS = 80

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Card numbers as they are written: 4-4-4-4(-3), Amex's 4-6-5, or 13-19 digits in a row (Luhn-checked).
_CARD_GROUPED = re.compile(
    r"(?<![\w-])(?:\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{5})(?![\w-])"
)
_CARD_RUN = re.compile(r"(?<![\w-])\d{13,19}(?![\w-])")
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
_PHONE = re.compile(r"(?<![\w.+])(?:\+|00)?\(?\d[\d ().-]{5,}\d(?![\w.]*\d)")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:/\d{1,3})?(?![\w:])")
_TICKET_WORDS = re.compile(
    r"\b(ticket|case|request|reference|ref)(\s*(?:no\.?|number|id)?\s*:?\s*)(#\s?)?([A-Z]{0,6}-?\d{3,})\b",
    re.I,
)
_HASH_NUMBER = re.compile(r"(?<![\w&])#\s?(?:[A-Z]{1,6}-)?\d{3,}\b", re.I)
_DOMAIN = re.compile(r"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24})(?![\w-])", re.I)
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t]{2,}")


def strip_personal_data(
    text: str,
    known_names: Iterable[str] = (),
    *,
    known_domains: Iterable[str] = (),
    known_ticket_numbers: Iterable[str] = (),
) -> str:
    """The text without the customer's personal data (see the module docstring for what goes)."""
    out = _drop_greeting_and_signature(text.replace("\r\n", "\n"))
    for tid in known_ticket_numbers:
        if tid.strip():
            out = re.sub(rf"#?\b{re.escape(tid.strip())}\b", TICKET, out)
    out = _TICKET_WORDS.sub(lambda m: f"{m.group(1)}{m.group(2)}{TICKET}", out)
    out = _HASH_NUMBER.sub(TICKET, out)
    out = _EMAIL.sub(EMAIL, out)
    out = _IPV4.sub(lambda m: IP if _is_ip(m.group(0)) else m.group(0), out)
    out = _IPV6.sub(lambda m: IP if _is_ip(m.group(0)) else m.group(0), out)
    out = _CARD_GROUPED.sub(CARD, out)
    out = _CARD_RUN.sub(lambda m: CARD if _luhn(m.group(0)) else m.group(0), out)
    out = _PHONE.sub(_phone, out)
    out = _strip_domains(out, known_domains)
    out = _strip_names(out, known_names)
    out = _SPACES.sub(" ", out)
    out = "\n".join(line.rstrip() for line in out.split("\n"))
    return _BLANK_LINES.sub("\n\n", out).strip()


def domains_of(email: str, context_domains: Iterable[str] = ()) -> list[str]:
    """The client's own domains: those in their account context, and their e-mail's unless webmail."""
    found = [d.strip().lower().removeprefix("www.") for d in context_domains if d and d.strip()]
    _, _, host = email.strip().lower().rpartition("@")
    if host and host not in FREEMAIL:
        found.append(host)
    return list(dict.fromkeys(found))


def domains_in(text: str) -> list[str]:
    """Domain names written in a text (e-mail addresses' too), lowercased, without "www.".

    File names ("index.php", "error_log.txt") look like domains and are left out.
    """
    found = [m.group(0) for m in _DOMAIN.finditer(text)]
    found += [m.group(0).rpartition("@")[2] for m in _EMAIL.finditer(text)]
    names = (d.lower().removeprefix("www.") for d in found)
    return list(dict.fromkeys(d for d in names if d.rpartition(".")[2] not in FILE_EXTENSIONS))


def _drop_greeting_and_signature(text: str) -> str:
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start < len(lines):
        if _GREETING_LINE.match(lines[start]):
            start += 1
            while start < len(lines) and not lines[start].strip():
                start += 1
            if start < len(lines):
                lines[start] = _capitalised(lines[start])
        else:
            prefix = _GREETING_PREFIX.match(lines[start])
            if prefix:
                lines[start] = _capitalised(lines[start][prefix.end() :])
    lines = lines[start:]
    end = len(lines)
    for i, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) or _SENT_FROM.match(line):
            end = i
            break
    for i in range(end - 1, max(-1, end - 1 - SIGNATURE_MAX_LINES - 1), -1):
        tail = [t for t in lines[i + 1 : end] if t.strip()]
        if (
            _CLOSING.match(lines[i])
            and len(tail) <= SIGNATURE_MAX_LINES
            and all(len(t) <= SIGNATURE_LINE_CHARS for t in tail)
        ):
            end = i
            break
    return "\n".join(lines[:end])


def _capitalised(line: str) -> str:
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)] + stripped[:1].upper() + stripped[1:]


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_network(candidate, strict=False)
    except ValueError:
        return False
    # "1.2" or "::" alone are not worth hiding, and bare ":" runs are not addresses.
    return candidate.count(".") == 3 or (candidate.count(":") >= 2 and any(c.isalnum() for c in candidate))


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = int(c) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _phone(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = sum(c.isdigit() for c in raw)
    compact = raw.strip("() ")
    if _DATE.match(compact) or not 7 <= digits <= 15:
        return raw
    # Plain runs of digits (order numbers, amounts) need a phone-like shape: a "+", "00" or grouping.
    grouped = any(c in raw for c in " ().-") or raw.startswith(("+", "00"))
    if not grouped:
        return raw
    # Times, decimals and version numbers ("10.2.3.4" was handled as an IP) use dots only.
    if "." in raw and not any(c in raw for c in " ()-+"):
        return raw
    return PHONE


def _strip_domains(text: str, known_domains: Iterable[str]) -> str:
    domains = sorted({d.strip().lower().removeprefix("www.") for d in known_domains if d.strip()}, key=len)
    for domain in reversed(domains):
        # The domain and any of its subdomains (www., mail., shop.).
        text = re.sub(rf"(?<![\w.-])(?:[\w-]+\.)*{re.escape(domain)}(?![\w-])", DOMAIN, text, flags=re.I)
    return text


def _strip_names(text: str, known_names: Iterable[str]) -> str:
    parts: set[str] = set()
    for name in known_names:
        cleaned = name.strip()
        if not cleaned:
            continue
        parts.add(cleaned)
        parts.update(p for p in re.split(r"[\s,]+", cleaned) if len(p) >= 2)
    for part in sorted(parts, key=len, reverse=True):
        escaped = re.escape(part)
        # "John, your ..." opening a sentence is a greeting in all but name: drop it.
        text = re.sub(
            rf"(?m)(^\s*|[.!?]\s+){escaped}\s*,\s*(\w)", lambda m: m.group(1) + m.group(2).upper(), text
        )
        text = re.sub(rf"(?<![\w\[]){escaped}(?![\w\]])", NAME, text, flags=re.I)
    # "[name] [name]" (first and last name replaced one by one) reads as one name.
    return re.sub(rf"{re.escape(NAME)}(?:\s+{re.escape(NAME)})+", NAME, text)
