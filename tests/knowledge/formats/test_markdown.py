from __future__ import annotations

from answerdesk.knowledge.extract import extract

GUIDE = """---
title: "Mail setup"
tags: [email]
---
# Email

Configure **your** mail client with the [settings](https://example.com) below.
Lines soft-wrap.

## IMAP settings

- Open the *account* settings
  - Choose `IMAP`
- Save

| Setting | Value |
|---------|-------|
| Server  | imap.example.com |
| Port    | 993 |

```
imap.example.com:993
```

# Billing

1. Check the invoice
2. Pay it

<div>Raw <b>HTML</b> block</div>
"""


def test_markdown_structure() -> None:
    doc = extract(GUIDE.encode(), filename="mail.md")

    assert doc.source_format == "markdown"
    assert doc.title == "Mail setup"
    assert [(s.heading, s.blocks) for s in doc.sections] == [
        ("Email", ("Configure your mail client with the settings below. Lines soft-wrap.",)),
        (
            "Email > IMAP settings",
            (
                "- Open the account settings\n- Choose IMAP\n- Save",
                "Setting: Server; Value: imap.example.com\nSetting: Port; Value: 993",
                "imap.example.com:993",
            ),
        ),
        ("Billing", ("1. Check the invoice\n2. Pay it", "Raw HTML block")),
    ]


def test_markdown_title_is_the_first_heading_without_front_matter() -> None:
    doc = extract(b"Intro line.\n\n## Details\n\nMore text.", filename="notes.markdown")

    assert doc.title == "Details"
    assert [s.heading_path for s in doc.sections] == [(), ("Details",)]
