"""Output guard that stops a streamed answer as soon as it starts repeating the system prompt."""

from __future__ import annotations

import re
from collections import deque
from functools import lru_cache

from answerdesk.answers.prompt import AUTO_LANGUAGE_RULE, GUARDRAIL_RULES, ORGANIZATION_PLACEHOLDER
from answerdesk.languages.texts import Text, english

FALLBACK_ON_LEAK = english(Text.prompt_leak)  # customers get it in their language (languages/texts.py)

# Letters and digits only: the comparison ignores case, punctuation, Markdown and spacing.
_PIECE = re.compile(r"([^\W_]+)|[\W_]+")


class LeakGuard:
    """Watches streamed text for any run of ``window_words`` consecutive words of the system prompt.

    The fixed guardrail rules are always watched too, whatever prompt the organization uses.
    Deltas may split words anywhere; each ``feed`` costs time in proportion to the delta only.
    """

    def __init__(self, system_prompt: str, *, window_words: int = 8) -> None:
        self._window = max(1, window_words)
        self._runs, self._starts = _prompt_runs(system_prompt, self._window)
        self._pending = ""  # text fed but not yet released by ``push``
        self._recent: deque[str] = deque(maxlen=self._window)
        self._partial = ""  # a word the last delta may have cut in two
        self._leaked = False

    @property
    def leaked(self) -> bool:
        return self._leaked

    def feed(self, delta: str) -> bool:
        """Adds a streamed piece of the answer; True once the answer so far repeats the prompt."""
        if self._leaked or not self._runs:
            return self._leaked
        for match in _PIECE.finditer(delta):
            if match.group(1) is not None:
                self._partial += match.group(1).casefold()
            elif self._partial:
                self._recent.append(self._partial)
                self._partial = ""
                if self._matches(self._recent):
                    self._leaked = True
                    return True
        # The answer may stop right after a prompt word, with nothing to close it.
        if self._partial and len(self._recent) >= self._window - 1:
            tail = list(self._recent)[len(self._recent) - self._window + 1 :] if self._window > 1 else []
            self._leaked = tuple([*tail, self._partial]) in self._runs
        return self._leaked

    def push(self, delta: str) -> str:
        """Feeds ``delta`` and returns the text that is now safe to show ("" once leaked).

        The words at the end that could begin a run of the prompt are held back, so a leak is caught
        before any of its words reach the customer; ordinary text is held for a word at most.
        """
        if self.feed(delta):
            self._pending = ""
            return ""
        self._pending += delta
        held = self._held_words()
        if held == 0:
            released, self._pending = self._pending, ""
            return released
        starts = [m.start() for m in _PIECE.finditer(self._pending) if m.group(1) is not None]
        if held >= len(starts):
            return ""
        cut = starts[len(starts) - held]
        released, self._pending = self._pending[:cut], self._pending[cut:]
        return released

    def flush(self) -> str:
        """The held-back rest at the end of the answer ("" if it leaked)."""
        released, self._pending = ("" if self._leaked else self._pending), ""
        return released

    def _held_words(self) -> int:
        """How many words at the end to hold: the longest run of them that starts a prompt run, plus a
        word still being written (it may become anything)."""
        words = list(self._recent)
        partial = 1 if self._partial else 0
        for n in range(min(len(words), self._window - 1), 0, -1):
            if tuple(words[-n:]) in self._starts:
                return n + partial
        return partial

    def _matches(self, recent: deque[str]) -> bool:
        return len(recent) == self._window and tuple(recent) in self._runs


@lru_cache(maxsize=256)
def _prompt_runs(
    system_prompt: str, window: int
) -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
    """(every run of ``window`` prompt words, every shorter start of one), made once per prompt: a guard is
    built for every answer, and an organization's prompt rarely changes."""
    runs: set[tuple[str, ...]] = set()
    for text in (system_prompt, GUARDRAIL_RULES, AUTO_LANGUAGE_RULE):
        # The placeholder becomes a name in the real prompt, so no run is taken across it.
        for segment in text.split(ORGANIZATION_PLACEHOLDER):
            words = _words(segment)
            runs.update(tuple(words[i : i + window]) for i in range(len(words) - window + 1))
    # Words that may be the start of a leak are held back until they are not.
    starts = {run[:n] for run in runs for n in range(1, window)}
    return frozenset(runs), frozenset(starts)


def _words(text: str) -> list[str]:
    return [m.group(1).casefold() for m in _PIECE.finditer(text) if m.group(1) is not None]
