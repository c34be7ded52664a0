# Deliberately non-ASCII text: these tests are about encodings and typographic characters.
# ruff: noqa: RUF001
from __future__ import annotations

from answerdesk.knowledge.extract import extract

PAGE = """<!DOCTYPE html>
<html><head>
  <title>Reset your password | ACME Help</title>
  <style>.x { color: red }</style>
  <script>var tracking = "SCRIPT-TEXT";</script>
</head>
<body>
  <header class="site-header"><a href="/">ACME logo</a> <a href="/pricing">Pricing</a></header>
  <nav><ul><li>Home</li><li>NAV-LINK</li></ul></nav>
  <div class="cookie-banner">We use COOKIES to improve your experience.</div>
  <main>
    <h1>Reset your password</h1>
    <p>If you forgot your password, you can reset it
       from the login page.</p>
    <h2>Steps</h2>
    <ol><li>Click <a href="/forgot">Forgot password</a></li>
        <li>Enter your email<ul><li>Use the address you signed up with</li></ul></li></ol>
    <h2>Limits</h2>
    <table>
      <thead><tr><th>Plan</th><th>Resets per day</th></tr></thead>
      <tbody><tr><td>Basic</td><td>3</td></tr><tr><td>Pro</td><td>10</td></tr></tbody>
    </table>
    <p>Line one<br>Line two</p>
    <dl><dt>Token lifetime</dt><dd>30 minutes</dd></dl>
    <aside>Related: SIDEBAR-LINK</aside>
    <div style="display:none">HIDDEN-TEXT</div>
  </main>
  <footer>Copyright FOOTER-TEXT</footer>
</body></html>
"""


def test_html_boilerplate_is_removed() -> None:
    text = extract(PAGE.encode(), filename="reset.html").text

    for junk in ("SCRIPT-TEXT", "color: red", "NAV-LINK", "ACME logo", "COOKIES", "SIDEBAR-LINK",
                 "HIDDEN-TEXT", "FOOTER-TEXT"):  # fmt: skip
        assert junk not in text


def test_html_keeps_headings_lists_and_tables() -> None:
    doc = extract(PAGE.encode(), filename="reset.html")

    assert doc.source_format == "html"
    assert doc.title == "Reset your password"
    assert [(s.heading, s.blocks) for s in doc.sections] == [
        (
            "Reset your password",
            ("If you forgot your password, you can reset it from the login page.",),
        ),
        (
            "Reset your password > Steps",
            ("1. Click Forgot password\n2. Enter your email\n- Use the address you signed up with",),
        ),
        (
            "Reset your password > Limits",
            (
                "Plan: Basic; Resets per day: 3\nPlan: Pro; Resets per day: 10",
                "Line one\nLine two",
                "Token lifetime: 30 minutes",
            ),
        ),
    ]


def test_html_title_falls_back_to_the_title_element() -> None:
    doc = extract(b"<html><head><title>Opening hours</title></head><body><p>9 to 5.</p></body></html>",
                  filename="hours.htm")  # fmt: skip

    assert doc.title == "Opening hours"
    assert doc.sections[0].blocks == ("9 to 5.",)


def test_html_declared_charset_is_honoured() -> None:
    data = '<html><head><meta charset="iso-8859-1"></head><body><p>Café’s menu</p></body></html>'
    doc = extract(data.encode("cp1252"), filename="menu.html")

    assert doc.sections[0].blocks == ("Café’s menu",)


def test_html_content_wrapped_in_a_sidebar_named_container_survives() -> None:
    page = b'<body><div class="content has-sidebar"><h1>Refunds</h1><p>Within 30 days.</p></div></body>'

    doc = extract(page, filename="refunds.html")

    assert doc.sections[0].blocks == ("Within 30 days.",)
