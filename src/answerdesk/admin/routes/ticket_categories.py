"""Ticket categories page: admins add, rename, describe and remove categories; staff see them read-only."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from answerdesk.admin.deps import Admin, AdminContext
from answerdesk.admin.templating import redirect, render
from answerdesk.auth.deps import DbSession
from answerdesk.kit.errors import Forbidden, ValidationFailed
from answerdesk.kit.web import client_ip
from answerdesk.tickets.categories import (
    MAX_CATEGORIES,
    MAX_EXAMPLES,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    MIN_SIMILARITY,
    Category,
    CategoryService,
    CategorySet,
    validate_categories,
)

router = APIRouter(prefix="/admin/tickets/categories", include_in_schema=False)

PAGE = "/admin/tickets/categories"
FIELDS = ("name", "description", "keywords", "examples")
# Rows the form may post: the categories allowed, a few more so that "too many" is said in words.
MAX_ROWS = MAX_CATEGORIES + 20
_ROW_FIELD = re.compile(r"^(name|description|keywords|examples|remove)_(\d{1,3})$")


@dataclass(frozen=True)
class Row:
    """One category as the form shows it: keywords and examples one per line."""

    index: int
    name: str = ""
    description: str = ""
    keywords: str = ""
    examples: str = ""
    remove: bool = False

    @property
    def blank(self) -> bool:
        return not any(v.strip() for v in (self.name, self.description, self.keywords, self.examples))

    def category(self) -> Category:
        return Category(self.name, self.description, _split(self.keywords), _split(self.examples))


def rows_of(categories: CategorySet) -> list[Row]:
    return [
        Row(i, c.name, c.description, "\n".join(c.keywords), "\n".join(c.examples))
        for i, c in enumerate(categories)
    ]


def rows_from_form(form: Mapping[str, Any]) -> list[Row]:
    """The posted rows in their order on the page; a row is name_<n>, description_<n>, ... ."""
    values: dict[int, dict[str, Any]] = {}
    for key, value in form.items():
        match = _ROW_FIELD.match(key)
        if match and isinstance(value, str) and int(match.group(2)) < MAX_ROWS:
            # Browsers send textareas with CRLF; kept input is shown again as typed, one item per line.
            values.setdefault(int(match.group(2)), {})[match.group(1)] = value.replace("\r\n", "\n")
    return [
        Row(
            index=n,
            name=v.get("name", ""),
            description=v.get("description", ""),
            keywords=v.get("keywords", ""),
            examples=v.get("examples", ""),
            remove="remove" in v,
        )
        for n, v in sorted(values.items())
    ]


def field_errors(exc: ValidationFailed, kept: Sequence[Row]) -> dict[str, str]:
    """The service's errors ({"loc": ["categories", i, field]}) keyed "<field>_<row>" as the form names them;
    an error about the whole list is keyed "form"."""
    errors: dict[str, str] = {}
    for detail in exc.details or []:
        loc = list(detail.get("loc") or [])
        if len(loc) >= 3 and isinstance(loc[1], int) and loc[1] < len(kept):
            errors.setdefault(f"{loc[2]}_{kept[loc[1]].index}", str(detail.get("msg")))
        else:
            errors.setdefault("form", str(detail.get("msg")))
    return errors


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split("\n"))


def _page(
    request: Request,
    rows: Sequence[Row],
    *,
    custom: bool,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "tickets/categories.html",
        status_code=status_code,
        rows=rows,
        new_index=max((r.index for r in rows), default=-1) + 1,
        custom=custom,
        errors=errors or {},
        limits={
            "categories": MAX_CATEGORIES,
            "name": MAX_NAME_CHARS,
            "text": MAX_TEXT_CHARS,
            "examples": MAX_EXAMPLES,
        },
        min_similarity=MIN_SIMILARITY,
    )


def _only_admins(ctx: AdminContext) -> None:
    if not ctx.is_admin:
        raise Forbidden("Only organization admins can change the ticket categories.")


@router.get("")
async def categories_page(request: Request, ctx: Admin, db: DbSession) -> Response:
    categories, custom = await CategoryService(db).get(ctx.organization.id)
    return _page(request, rows_of(categories), custom=custom)


@router.post("")
async def save_categories(request: Request, ctx: Admin, db: DbSession) -> Response:
    _only_admins(ctx)
    # The empty "Add a category" row is no category (the page shows a fresh one); removed rows are
    # shown again as ticked if something else needs correcting.
    rows = [r for r in rows_from_form(await request.form()) if not r.blank]
    kept = [r for r in rows if not r.remove]
    service = CategoryService(db)
    current, custom = await service.get(ctx.organization.id)
    if not kept:
        errors = {"form": "Keep at least one category, or use “Restore the defaults” below."}
        return _page(request, rows, custom=custom, errors=errors, status_code=422)
    try:
        wanted = validate_categories([r.category() for r in kept])
    except ValidationFailed as exc:
        return _page(request, rows, custom=custom, errors=field_errors(exc, kept), status_code=422)
    if wanted == current:
        return redirect(PAGE, flash="Nothing changed.", level="info")
    await service.replace(ctx.organization.id, wanted, actor_id=ctx.user_id, ip=client_ip(request))
    return redirect(PAGE, flash="Ticket categories saved. The next ticket is classified with them.")


@router.post("/reset")
async def reset_categories(request: Request, ctx: Admin, db: DbSession) -> Response:
    _only_admins(ctx)
    service = CategoryService(db)
    _, custom = await service.get(ctx.organization.id)
    if not custom:
        return redirect(PAGE, flash="The default categories are already in use.", level="info")
    await service.replace(ctx.organization.id, [], actor_id=ctx.user_id, ip=client_ip(request))
    return redirect(PAGE, flash="The default categories are back in use.")
