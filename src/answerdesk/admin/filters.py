"""Reading a list page's filter form: a value that does not parse is dropped with a notice, never a 500."""

from __future__ import annotations

from collections.abc import Collection, Mapping

MAX_PAGE = 1_000_000


class FilterForm:
    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params
        self.notices: list[str] = []

    def text(self, name: str, limit: int) -> str:
        return (self.params.get(name) or "").strip()[:limit]

    def choice(self, name: str, allowed: Collection[str], label: str) -> str:
        value = (self.params.get(name) or "").strip()
        if value and value not in allowed:
            self.notices.append(f"Ignored the {label} filter “{value[:40]}”: it is not one of the choices.")
            return ""
        return value

    def page(self) -> int:
        raw = (self.params.get("page") or "1").strip()
        return int(raw) if raw.isdigit() and 0 < int(raw) < MAX_PAGE else 1
