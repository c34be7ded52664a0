"""Knowledge page: documents with live status, uploads, FAQ entries, URL imports, reindex and test search."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from answerdesk.admin.deps import Admin, AdminContext, OrgAdmin
from answerdesk.admin.templating import redirect, render, templates
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.kit.errors import AppError, ValidationFailed
from answerdesk.knowledge.extract import SUPPORTED_EXTENSIONS
from answerdesk.knowledge.models import Document, DocumentStatus, PhrasingSource, SourceKind
from answerdesk.knowledge.phrasings import PhrasingService
from answerdesk.knowledge.queueing import queue_crawl, queue_ingest
from answerdesk.knowledge.schemas import FaqCreate, UrlImport, parse_tags
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.retrieval.service import Retrieved
from answerdesk.runtime import Runtime

router = APIRouter(prefix="/admin/knowledge", include_in_schema=False)

PAGE = "/admin/knowledge"
CHANGED_EVENT = "knowledge-changed"  # tells the document list to refresh itself after an htmx upload
SOURCE_LABELS: dict[str, str] = {SourceKind.file: "File", SourceKind.url: "Web page", SourceKind.faq: "FAQ"}
PENDING = (DocumentStatus.queued, DocumentStatus.processing)
WATCH_SECONDS = 60  # how long the list keeps polling after a sitemap import that has no documents yet
SEARCH_RESULTS = 5
SNIPPET_CHARS = 320
# Not worth highlighting in a passage: they appear in every question and most answers.
QUESTION_WORDS = frozenset(
    {
        "the",
        "and",
        "for",
        "are",
        "you",
        "your",
        "our",
        "can",
        "does",
        "did",
        "how",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "use",
        "using",
        "with",
        "this",
        "that",
        "from",
        "into",
        "have",
        "has",
        "was",
        "were",
        "will",
        "would",
        "should",
        "could",
        "there",
        "their",
        "them",
        "then",
        "than",
        "about",
        "not",
        "all",
        "any",
    }
)
FormStr = Annotated[str, Form()]


# --- View models: plain values for the templates -------------------------------------------------


@dataclass(frozen=True)
class DocumentFilters:
    source: str | None = None
    status: str | None = None
    tag: str | None = None
    q: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> DocumentFilters:
        """Unknown values are dropped rather than refused: a stale bookmark still opens the page."""
        source = params.get("source") or None
        status = params.get("status") or None
        tag = (params.get("tag") or "").strip().lower()[:50] or None
        q = (params.get("q") or "").strip()[:200] or None
        return cls(
            source=source if source in SOURCE_LABELS else None,
            status=status if status in DocumentStatus.__members__ else None,
            tag=tag,
            q=q,
        )

    @property
    def active(self) -> bool:
        return any((self.source, self.status, self.tag, self.q))

    def query_string(self, **extra: object) -> str:
        values = {"source": self.source, "status": self.status, "tag": self.tag, "q": self.q, **extra}
        return urlencode({k: v for k, v in values.items() if v})


@dataclass(frozen=True)
class DocumentView:
    id: uuid.UUID
    title: str
    source: str
    source_label: str
    origin: str
    url: str | None
    size: str
    tags: list[str]
    status: str
    progress: int
    error: str | None
    chunk_count: int
    updated_at: datetime
    updated_ago: str
    phrasings: int = 0  # other ways customers ask its FAQ questions (typed, learned, from gaps)

    @property
    def is_faq(self) -> bool:
        return self.source == SourceKind.faq


@dataclass(frozen=True)
class UploadOutcome:
    filename: str
    accepted: bool
    message: str


@dataclass(frozen=True)
class SearchHitView:
    rank: int
    title: str
    section: str
    origin: str
    snippet: Markup
    score: float
    similarity: float | None


def as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every timestamp we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def time_ago(then: datetime, now: datetime) -> str:
    seconds = int((as_utc(now) - as_utc(then)).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 7 * 86400:
        days = seconds // 86400
        return "yesterday" if days == 1 else f"{days} days ago"
    return as_utc(then).strftime("%d %b %Y")


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1_048_576:.1f}".removesuffix(".0") + " MB"


def short_url(url: str, limit: int = 60) -> str:
    """A URL as a title until its page is fetched: no scheme, and long paths shortened in the middle."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.rstrip("/")
    text = host + path
    if len(text) <= limit:
        return text or url
    last = path.rsplit("/", 1)[-1]
    return f"{host}/…/{last}" if len(host) + len(last) + 3 <= limit else text[: limit - 1] + "…"


def document_view(doc: Document, now: datetime, phrasings: int = 0) -> DocumentView:
    is_file = doc.source == SourceKind.file
    title = short_url(doc.url) if doc.url and doc.title == doc.url else doc.title
    origins: dict[str, str] = {SourceKind.file: doc.filename or "", SourceKind.url: doc.url or ""}
    return DocumentView(
        id=doc.id,
        title=title,
        source=doc.source,
        source_label=SOURCE_LABELS.get(doc.source, doc.source),
        origin=origins.get(doc.source, "FAQ entry"),
        url=doc.url,
        size=human_size(doc.size_bytes) if is_file else "",
        tags=list(doc.tags or []),
        status=doc.status,
        progress=max(0, min(100, doc.progress)),
        error=doc.error,
        chunk_count=doc.chunk_count,
        updated_at=doc.updated_at,
        updated_ago=time_ago(doc.updated_at, now),
        phrasings=phrasings,
    )


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(",.;:") + "…"


def highlight(text: str, query: str) -> Markup:
    """Escaped text with the question's meaningful words wrapped in <mark>."""
    words = sorted(
        {w for w in re.findall(r"\w{3,}", query.lower()) if w not in QUESTION_WORDS}, key=len, reverse=True
    )
    if not words:
        return escape(text)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(Markup("<mark>{}</mark>").format(m.group(0)))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def search_views(found: Sequence[Retrieved], query: str) -> list[SearchHitView]:
    return [
        SearchHitView(
            rank=i,
            title=r.hit.title,
            origin=r.hit.source,
            section="" if r.hit.section.strip() == r.hit.title.strip() else r.hit.section,
            snippet=highlight(snippet(r.hit.text), query),
            score=r.score,
            similarity=r.dense_score,
        )
        for i, r in enumerate(found, start=1)
    ]


def validation_message(exc: ValidationError, labels: Mapping[str, str]) -> str:
    """The first problem, in words: "Question should have at least 3 characters"."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    if field == "url":
        return "Enter a full web address, such as https://help.example.com/page."
    msg = str(first["msg"]).removeprefix("Value error, ")
    label = labels.get(field, field.replace("_", " ").capitalize())
    for subject in ("String ", "Input ", "Value "):
        if msg.startswith(subject):
            return f"{label} {msg[len(subject) :]}."
    return f"{label}: {msg}."


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# --- Shared page assembly --------------------------------------------------------------------------


def _watch_until(params: Mapping[str, str], now: float) -> int | None:
    raw = params.get("watch", "")
    until = int(raw) if raw.isdigit() else 0
    return min(until, int(now) + WATCH_SECONDS) if until > now else None


async def _documents_context(
    db: AsyncSession, runtime: Runtime, ctx: AdminContext, params: Mapping[str, str]
) -> dict[str, Any]:
    filters = DocumentFilters.parse(params)
    watch = _watch_until(params, time.time())
    svc = KnowledgeService.of(db, runtime)
    org = ctx.organization.id
    counts = await svc.status_counts(org)
    docs = await svc.list(org, source=filters.source, status=filters.status, tag=filters.tag, query=filters.q)
    now = datetime.now(UTC)
    pending = sum(counts.get(s, 0) for s in PENDING)
    phrasings = await PhrasingService(db, runtime).counts(org)
    return {
        "documents": [document_view(d, now, phrasings.get(d.id, 0)) for d in docs],
        "filters": filters,
        "stats": {
            "total": sum(counts.values()),
            "ready": counts.get(DocumentStatus.ready, 0),
            "pending": pending,
            "failed": counts.get(DocumentStatus.failed, 0),
            "chunks": await svc.chunks.count(org),
        },
        "poll": pending > 0 or watch is not None,
        "list_url": f"{PAGE}/documents?{filters.query_string(watch=watch)}",
    }


def _upload_context(runtime: Runtime) -> dict[str, Any]:
    return {
        "accept": ",".join(sorted(SUPPORTED_EXTENSIONS)),
        "max_upload": human_size(runtime.settings.max_upload_bytes),
        "max_upload_bytes": runtime.settings.max_upload_bytes,
        "crawl_max_pages": runtime.settings.crawl_max_pages,
    }


async def _page(
    request: Request,
    ctx: AdminContext,
    db: AsyncSession,
    runtime: Runtime,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context = await _documents_context(db, runtime, ctx, request.query_params)
    filters: DocumentFilters = context["filters"]
    all_docs = await KnowledgeService.of(db, runtime).list(ctx.organization.id) if filters.active else None
    tags = sorted({t for d in (all_docs or context["documents"]) for t in (d.tags or [])})
    return render(
        request,
        "knowledge/index.html",
        status_code=status_code,
        tags=tags,
        source_labels=SOURCE_LABELS,
        statuses=list(DocumentStatus),
        **_upload_context(runtime),
        **context,
        **extra,
    )


def _partial(
    request: Request,
    ctx: AdminContext,
    template: str,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A fragment for htmx; unlike render() it leaves any flash message for the next full page."""
    return templates.TemplateResponse(
        request, template, {"ctx": ctx, **context}, status_code=status_code, headers=dict(headers or {})
    )


# --- Everyone in the organization: view, filter, test search ---------------------------------------


@router.get("")
async def knowledge_page(request: Request, ctx: Admin, db: DbSession, runtime: RuntimeDep) -> Response:
    return await _page(request, ctx, db, runtime)


@router.get("/documents")
async def documents(request: Request, ctx: Admin, db: DbSession, runtime: RuntimeDep) -> Response:
    """The document list alone (polled while something is processing); a full page outside htmx."""
    if not is_htmx(request):
        return await _page(request, ctx, db, runtime)
    context = await _documents_context(db, runtime, ctx, request.query_params)
    headers = {}
    if request.headers.get("hx-trigger") == "kb-filters":  # the filter form, not a poll: a shareable URL
        query = context["filters"].query_string()
        headers["HX-Push-Url"] = f"{PAGE}?{query}" if query else PAGE
    return _partial(request, ctx, "knowledge/_documents.html", headers=headers, oob_stats=True, **context)


@router.get("/search")
async def search(
    request: Request,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    question: str = "",
) -> Response:
    question = question.strip()
    result: dict[str, Any] = {"question": question}
    if not question:
        result["search_error"] = "Type a question to see what Answerdesk finds."
    elif len(question) > 2000:
        result["search_error"] = "The question is too long; keep it under 2,000 characters."
    else:
        try:
            found = await runtime.retriever.search(db, ctx.organization.id, question, k=SEARCH_RESULTS)
        except AppError as exc:
            result["search_error"] = exc.message
        else:
            result["results"] = search_views(found, question)
    if is_htmx(request):
        return _partial(request, ctx, "knowledge/_search_results.html", search=result)
    return await _page(request, ctx, db, runtime, search=result)


# --- Admins only: manage ---------------------------------------------------------------------------


@router.post("/upload")
async def upload(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    title: FormStr = "",
    tags: FormStr = "",
) -> Response:
    """Each file succeeds or fails on its own; the others of the same upload are kept."""
    form = {"title": title, "tags": tags}
    # Read by hand: with no file chosen a browser sends an empty part, which a typed File() list refuses.
    parts = (await request.form()).getlist("files")
    picked = [f for f in parts if isinstance(f, UploadFile) and f.filename]
    outcomes: list[UploadOutcome] = []
    error: str | None = None
    try:
        tag_list = parse_tags(tags)
    except ValueError as exc:
        error = f"Tags: {exc}."
        tag_list = []
    if len(title.strip()) > 300:
        error = "The title is longer than 300 characters."
    if error is None and not picked:
        error = "Choose at least one file to upload."
    if error is None:
        svc = KnowledgeService.of(db, runtime)
        for f in picked:
            outcomes.append(await _upload_one(db, runtime, svc, ctx, f, title.strip(), tag_list))
    accepted = [o for o in outcomes if o.accepted]
    if accepted and len(accepted) == len(outcomes):
        form = {"title": "", "tags": ""}
    upload_result = {"outcomes": outcomes, "error": error, "form": form, "accepted": len(accepted)}
    if is_htmx(request):
        # htmx swaps only 2xx answers; the per-file outcomes carry the errors.
        headers = {"HX-Trigger": CHANGED_EVENT} if accepted else {}
        return _partial(
            request,
            ctx,
            "knowledge/_upload.html",
            headers=headers,
            upload=upload_result,
            **_upload_context(runtime),
        )
    status = 200 if accepted else 422
    return await _page(request, ctx, db, runtime, status_code=status, upload=upload_result)


async def _upload_one(
    db: AsyncSession,
    runtime: Runtime,
    svc: KnowledgeService,
    ctx: AdminContext,
    file: UploadFile,
    title: str,
    tags: list[str],
) -> UploadOutcome:
    name = file.filename or "upload"
    data = await file.read()
    try:
        # A savepoint per file: one file failing half-way leaves no trace, and its job is dropped with it.
        async with db.begin_nested():
            doc = await svc.upload(
                ctx.organization.id,
                filename=name,
                data=data,
                content_type=file.content_type,
                title=title or None,
                tags=tags,
            )
            queue_ingest(db, runtime, doc)
    except AppError as exc:
        return UploadOutcome(name, False, exc.message)
    message = "Queued for processing"
    if doc.revision > 1:  # the same file name was uploaded before: that document is updated in place
        message += "; replaces the earlier upload"
    return UploadOutcome(doc.filename or name, True, message)


def _faq_input(question: str, answer: str, tags: str, phrasings: str = "") -> FaqCreate:
    try:
        return FaqCreate(
            question=question,
            answer=answer,
            tags=parse_tags(tags),
            phrasings=[line for line in phrasings.splitlines() if line.strip()],
        )
    except ValueError as exc:
        labels = {
            "question": "Question",
            "answer": "Answer",
            "tags": "Tags",
            "phrasings": "Other ways to ask",
        }
        raise ValidationFailed(
            validation_message(exc, labels) if isinstance(exc, ValidationError) else f"Tags: {exc}."
        ) from None


@router.post("/faqs")
async def create_faq(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    question: FormStr = "",
    answer: FormStr = "",
    tags: FormStr = "",
    phrasings: FormStr = "",
) -> Response:
    try:
        body = _faq_input(question, answer, tags, phrasings)
        doc = await PhrasingService(db, runtime).save_faq(ctx.organization.id, body)
    except AppError as exc:
        return await _page(
            request,
            ctx,
            db,
            runtime,
            status_code=exc.status_code,
            faq_error=exc.message,
            faq_form={"question": question, "answer": answer, "tags": tags, "phrasings": phrasings},
        )
    queue_ingest(db, runtime, doc)
    return redirect(PAGE, flash="FAQ entry added. It becomes searchable in a few seconds.")


@router.get("/faqs/{document_id}/edit")
async def edit_faq_page(
    request: Request, document_id: uuid.UUID, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep
) -> Response:
    doc = await _faq(db, runtime, ctx, document_id)
    kept = await PhrasingService(db, runtime).for_document(ctx.organization.id, doc.id)
    form = {
        "question": doc.question or doc.title,
        "answer": doc.answer or "",
        "tags": ", ".join(doc.tags or []),
        "phrasings": "\n".join(p.text for p in kept if p.source == PhrasingSource.staff),
    }
    return render(
        request,
        "knowledge/faq_edit.html",
        doc=document_view(doc, datetime.now(UTC)),
        form=form,
        learned=[p for p in kept if p.source != PhrasingSource.staff],
    )


@router.post("/faqs/{document_id}")
async def update_faq(
    request: Request,
    document_id: uuid.UUID,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    question: FormStr = "",
    answer: FormStr = "",
    tags: FormStr = "",
    phrasings: FormStr = "",
) -> Response:
    doc = await _faq(db, runtime, ctx, document_id)
    try:
        body = _faq_input(question, answer, tags, phrasings)
        doc = await PhrasingService(db, runtime).save_faq(ctx.organization.id, body, document_id)
    except AppError as exc:
        kept = await PhrasingService(db, runtime).for_document(ctx.organization.id, doc.id)
        return render(
            request,
            "knowledge/faq_edit.html",
            status_code=exc.status_code,
            error=exc.message,
            doc=document_view(doc, datetime.now(UTC)),
            form={"question": question, "answer": answer, "tags": tags, "phrasings": phrasings},
            learned=[p for p in kept if p.source != PhrasingSource.staff],
        )
    queue_ingest(db, runtime, doc)
    return redirect(PAGE, flash="FAQ entry saved. It is being re-indexed.")


@router.get("/documents/{document_id}/phrasings")
async def phrasings_page(
    request: Request, document_id: uuid.UUID, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep
) -> Response:
    """Other ways customers ask a document's FAQ questions (an FAQ file's, or one entry's), to review."""
    doc = await KnowledgeService.of(db, runtime).get(ctx.organization.id, document_id)
    groups = await PhrasingService(db, runtime).by_question(ctx.organization.id, document_id)
    return render(
        request, "knowledge/phrasings.html", doc=document_view(doc, datetime.now(UTC)), groups=groups
    )


@router.post("/documents/{document_id}/phrasings/{phrasing_id}/delete")
async def delete_phrasing(
    document_id: uuid.UUID,
    phrasing_id: uuid.UUID,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    back: FormStr = "",
) -> Response:
    """Forgets one phrasing (a customer's wording that should not lead to this entry)."""
    await PhrasingService(db, runtime).remove(ctx.organization.id, document_id, phrasing_id)
    edit = back == "edit"
    target = f"{PAGE}/faqs/{document_id}/edit" if edit else f"{PAGE}/documents/{document_id}/phrasings"
    return redirect(target, flash="Phrasing removed. The entry is being re-indexed.")


async def _faq(db: AsyncSession, runtime: Runtime, ctx: AdminContext, document_id: uuid.UUID) -> Document:
    doc = await KnowledgeService.of(db, runtime).get(ctx.organization.id, document_id)
    if doc.source != SourceKind.faq:
        raise ValidationFailed("Only FAQ entries can be edited; upload a new version of a file instead.")
    return doc


@router.post("/urls")
async def import_url(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    url: FormStr = "",
    sitemap: Annotated[bool, Form()] = False,
    max_pages: FormStr = "20",
    tags: FormStr = "",
) -> Response:
    form = {"url": url, "sitemap": sitemap, "max_pages": max_pages, "tags": tags}
    try:
        try:
            body = UrlImport.model_validate(
                {
                    "url": url.strip(),
                    "sitemap": sitemap,
                    "max_pages": max_pages.strip() or 20,
                    "tags": parse_tags(tags),
                }
            )
        except ValidationError as exc:
            labels = {"max_pages": "Max pages", "tags": "Tags"}
            raise ValidationFailed(validation_message(exc, labels)) from None
        except ValueError as exc:
            raise ValidationFailed(f"Tags: {exc}.") from None
    except AppError as exc:
        return await _page(
            request, ctx, db, runtime, status_code=exc.status_code, url_error=exc.message, url_form=form
        )
    if body.sitemap:
        queue_crawl(db, runtime, ctx.organization.id, str(body.url), max_pages=body.max_pages, tags=body.tags)
        watch = int(time.time()) + WATCH_SECONDS
        return redirect(
            f"{PAGE}?watch={watch}",
            flash=f"Reading the sitemap at {body.url}; its pages appear below as they are found.",
        )
    doc = await KnowledgeService.of(db, runtime).add_url(ctx.organization.id, str(body.url), tags=body.tags)
    queue_ingest(db, runtime, doc)
    return redirect(PAGE, flash=f"Importing {body.url}. It appears below once fetched.")


@router.post("/documents/{document_id}/delete")
async def delete_document(
    document_id: uuid.UUID, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep
) -> Response:
    svc = KnowledgeService.of(db, runtime)
    doc = await svc.get(ctx.organization.id, document_id)
    title = doc.title
    await svc.delete(ctx.organization.id, document_id)
    return redirect(PAGE, flash=f"Deleted “{title}”. Answers no longer use it.")


@router.post("/reindex")
async def reindex(ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    chunks = await KnowledgeService.of(db, runtime).request_reindex(ctx.organization.id)
    runtime.retriever.forget(ctx.organization.id)
    return redirect(PAGE, flash=f"Rebuilding the search index from {chunks} chunks; the next search uses it.")
