"""AI settings page (admins) and the Playground, where staff chat with the bot exactly as customers do."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import annotated_types
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from markdown_it import MarkdownIt
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.admin.deps import Admin, AdminContext, OrgAdmin
from answerdesk.admin.templating import redirect, render, templates
from answerdesk.answers.prompt import DEFAULT_SYSTEM_PROMPT, GUARDRAIL_RULES, ORGANIZATION_PLACEHOLDER
from answerdesk.answers.service import AiSettingsService, AnswerModeInfo, answer_mode_info
from answerdesk.answers.settings import AiSettings
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.auth.service import ROLE_SCOPES, AuditService, Principal
from answerdesk.chat.feedback import FeedbackService
from answerdesk.chat.models import Channel, Conversation, FeedbackReason, Message, MessageFeedback, Sender
from answerdesk.chat.schemas import ConversationCreate, CustomerIn, FeedbackCreate
from answerdesk.chat.service import ChatService
from answerdesk.chat.sse import reply_stream
from answerdesk.kit.errors import AppError, NotFound, ValidationFailed
from answerdesk.kit.web import client_ip, request_id_var

router = APIRouter(prefix="/admin/ai", include_in_schema=False)

PAGE = "/admin/ai"
PLAYGROUND = f"{PAGE}/playground"
FormStr = Annotated[str, Form()]

LABELS: dict[str, str] = {
    "model": "Model",
    "fallback_model": "Fallback model",
    "temperature": "Temperature",
    "max_tokens": "Max tokens",
    "top_p": "Top-p",
    "system_prompt": "System prompt",
    "answer_language": "Answer language",
    "retrieval_k": "Passages retrieved",
    "relevance_threshold": "Relevance threshold",
    "faq_threshold": "FAQ threshold",
}
LANGUAGE_CHOICES = (
    "auto", "English", "German", "French", "Spanish", "Italian", "Dutch", "Portuguese", "Polish",
    "Swedish", "Danish", "Norwegian", "Finnish", "Czech", "Turkish", "Russian", "Ukrainian",
)  # fmt: skip
MODE_LABELS: dict[str, str] = {
    "llm": "LLM",
    "faq": "FAQ",
    "extractive": "Extractive",
    "fallback": "Fallback",
    "no_answer": "No answer",
    "handoff": "Handoff",
    "quota": "Quota reached",
}
FEEDBACK_REASONS: dict[str, str] = {
    FeedbackReason.wrong: "Wrong",
    FeedbackReason.not_asked: "Not what I asked",
    FeedbackReason.outdated: "Outdated",
}
SENDER_LABELS: dict[str, str] = {
    Sender.customer: "Customer",
    Sender.bot: "Assistant",
    Sender.staff: "Staff",
    Sender.system: "System",
}


# --- AI settings form ------------------------------------------------------------------------------


def bounds(name: str) -> dict[str, float]:
    """The field's numeric limits, for the input's min/max and for error messages."""
    out: dict[str, float] = {}
    for rule in AiSettings.model_fields[name].metadata:
        if isinstance(rule, annotated_types.Ge | annotated_types.Gt):
            out["min"] = float(rule.ge if isinstance(rule, annotated_types.Ge) else rule.gt)  # type: ignore[arg-type]
        elif isinstance(rule, annotated_types.Le):
            out["max"] = float(rule.le)  # type: ignore[arg-type]
    return out


def _number(value: float) -> str:
    return f"{value:g}"


def field_error(name: str, error: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence a support manager understands."""
    kind = str(error.get("type", ""))
    limits = bounds(name) if name in AiSettings.model_fields else {}
    context = error.get("ctx") or {}
    if kind in ("float_parsing", "float_type"):
        return "Enter a number, such as 0.5."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number, such as 5."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and limits:
        low, high = limits.get("min"), limits.get("max")
        if kind == "greater_than" and low is not None:
            return f"Enter a number above {_number(low)} and at most {_number(high or low)}."
        if low is not None and high is not None:
            return f"Enter a number from {_number(low)} to {_number(high)}."
    if kind == "string_too_long":
        return f"Use at most {context.get('max_length')} characters."
    if kind == "string_too_short":
        return f"Use at least {context.get('min_length')} characters."
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return message[:1].upper() + message[1:].rstrip(".") + "."


def form_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        errors.setdefault(name, field_error(name, error))
    return errors


def normalise_prompt(text: str) -> str:
    """Browsers send textareas with CRLF; the default prompt kept as is is stored as "use the default"."""
    text = text.replace("\r\n", "\n").strip()
    return "" if text == DEFAULT_SYSTEM_PROMPT.strip() else text


def settings_form(ai: AiSettings) -> dict[str, str]:
    """What the inputs show: the stored values, and the effective prompt rather than an empty box."""
    return {
        "model": ai.model or "",
        "fallback_model": ai.fallback_model or "",
        "temperature": _number(ai.temperature),
        "max_tokens": str(ai.max_tokens),
        "top_p": "" if ai.top_p is None else _number(ai.top_p),
        "system_prompt": ai.system_prompt or DEFAULT_SYSTEM_PROMPT,
        "answer_language": ai.answer_language,
        "retrieval_k": str(ai.retrieval_k),
        "relevance_threshold": _number(ai.relevance_threshold),
        "faq_threshold": _number(ai.faq_threshold),
    }


def parse_settings(form: Mapping[str, str]) -> AiSettings:
    raw: dict[str, Any] = {name: form.get(name, "").strip() for name in LABELS}
    raw["system_prompt"] = normalise_prompt(form.get("system_prompt", ""))
    raw["top_p"] = raw["top_p"] or None  # empty: the provider's default
    return AiSettings.model_validate(raw)


def changed_fields(before: AiSettings, after: AiSettings) -> list[str]:
    old, new = before.model_dump(), after.model_dump()
    return [name for name in LABELS if old.get(name) != new.get(name)]


def mode_banner(info: AnswerModeInfo) -> str:
    if info.is_llm:
        return f"LLM: {info.default_model} via {info.provider_host}"
    return "Extractive mode: no LLM API key configured — answers quote your knowledge base"


def _settings_page(
    request: Request,
    info: AnswerModeInfo,
    form: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "ai/index.html",
        status_code=status_code,
        form=form,
        errors=errors or {},
        labels=LABELS,
        limits={name: bounds(name) for name in LABELS if name not in ("model", "fallback_model")},
        info=info,
        banner=mode_banner(info),
        languages=LANGUAGE_CHOICES,
        guardrails=GUARDRAIL_RULES,
        placeholder=ORGANIZATION_PLACEHOLDER,
    )


@router.get("")
async def ai_settings_page(request: Request, ctx: OrgAdmin, db: DbSession, runtime: RuntimeDep) -> Response:
    ai = await AiSettingsService(db).get(ctx.organization.id)
    return _settings_page(request, answer_mode_info(runtime.settings), settings_form(ai))


@router.post("")
async def save_ai_settings(
    request: Request,
    ctx: OrgAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    model: FormStr = "",
    fallback_model: FormStr = "",
    temperature: FormStr = "",
    max_tokens: FormStr = "",
    top_p: FormStr = "",
    system_prompt: FormStr = "",
    answer_language: FormStr = "",
    retrieval_k: FormStr = "",
    relevance_threshold: FormStr = "",
    faq_threshold: FormStr = "",
) -> Response:
    form = {
        "model": model,
        "fallback_model": fallback_model,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "top_p": top_p,
        "system_prompt": system_prompt,
        "answer_language": answer_language,
        "retrieval_k": retrieval_k,
        "relevance_threshold": relevance_threshold,
        "faq_threshold": faq_threshold,
    }
    info = answer_mode_info(runtime.settings)
    try:
        ai = parse_settings(form)
    except ValidationError as exc:
        return _settings_page(request, info, form, form_errors(exc), status_code=422)
    service = AiSettingsService(db)
    changed = changed_fields(await service.get(ctx.organization.id), ai)
    if not changed:
        return redirect(PAGE, flash="Nothing changed.", level="info")
    await service.replace(ctx.organization.id, ai)
    AuditService(db).record(
        "ai_settings.update",
        organization_id=ctx.organization.id,
        actor_id=ctx.user_id,
        target=", ".join(LABELS[name] for name in changed),
        ip=client_ip(request),
        details={"changed": changed},
    )
    return redirect(PAGE, flash="AI settings saved. The next answer uses them.")


# --- Playground: the same ChatService path as the widget and the API -------------------------------


_markdown = MarkdownIt("commonmark", {"html": False}).disable("image")
# "[3]" in rendered text, but not inside a tag (an href cannot hold raw brackets after markdown-it).
_CITATION_MARK = re.compile(r"\[(\d{1,3})\](?![^<>]*>)")


def render_answer(text: str, citations: Sequence[Mapping[str, Any]], anchor: str) -> Markup:
    """Bot Markdown as safe HTML: raw HTML is escaped, images dropped, each [n] linked to its source."""
    html = _markdown.render(text)
    known = {int(c["n"]) for c in citations if "n" in c}

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return f'<a class="pg-cite" href="#{anchor}-src-{n}" aria-label="Source {n}">[{n}]</a>'

    return Markup(_CITATION_MARK.sub(link, html))  # noqa: S704 - markdown-it escaped every input character


@dataclass(frozen=True)
class MessageView:
    """One playground message with what the admin shows beside a bot answer."""

    id: uuid.UUID
    seq: int
    sender: str
    sender_label: str
    text: str
    html: Markup | None
    anchor: str
    citations: list[dict[str, Any]]
    suggestions: list[str]
    mode: str | None
    mode_label: str
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    sentiment_label: str | None
    frustrated: bool
    query: str
    passages: list[dict[str, Any]]
    retrieval_ms: float | None
    first_token_ms: int | None
    error: str | None
    gate: dict[str, float]
    helpful: bool | None = None  # the thumbs up/down on a bot answer, None when not rated
    reason: str | None = None

    @property
    def offers_human(self) -> bool:
        # The pipeline's rule: an answer that cites nothing is not grounded, so it comes with a person.
        unanswered = self.mode in ("no_answer", "handoff", "quota")
        return unanswered or (self.sender == Sender.bot and not self.citations)


def message_view(m: Message, feedback: MessageFeedback | None = None) -> MessageView:
    details = m.details or {}
    anchor = f"m{m.seq}"
    citations = list(m.citations or [])
    return MessageView(
        id=m.id,
        seq=m.seq,
        sender=m.sender,
        sender_label=SENDER_LABELS.get(m.sender, m.sender),
        text=m.content,
        html=render_answer(m.content, citations, anchor) if m.sender == Sender.bot else None,
        anchor=anchor,
        citations=citations,
        suggestions=list(m.suggestions or []),
        mode=m.mode,
        mode_label=MODE_LABELS.get(m.mode or "", m.mode or ""),
        model=m.model,
        prompt_tokens=m.prompt_tokens,
        completion_tokens=m.completion_tokens,
        latency_ms=m.latency_ms,
        sentiment_label=m.sentiment_label,
        frustrated=m.frustrated,
        query=str(details.get("query") or ""),
        passages=list(details.get("passages") or []),
        retrieval_ms=details.get("retrieval_ms"),
        first_token_ms=details.get("first_token_ms"),
        error=details.get("error"),
        gate=dict(details.get("gate") or {}),
        helpful=feedback.helpful if feedback else None,
        reason=feedback.reason if feedback else None,
    )


def principal_of(ctx: AdminContext) -> Principal:
    """The logged-in member as the chat service sees an API caller (no token needed for staff)."""
    return Principal(
        organization_id=ctx.organization.id, kind="user", scopes=ROLE_SCOPES[ctx.role], user_id=ctx.user_id
    )


async def playground_conversation(
    db: AsyncSession, service: ChatService, ctx: AdminContext, conversation_id: str
) -> Conversation:
    """A playground conversation of this organization; anything else (a customer's chat too) is a 404."""
    try:
        cid = uuid.UUID(conversation_id)
    except ValueError:
        raise NotFound("Conversation not found.") from None
    conversation = await service.get(db, principal_of(ctx), cid, None)
    if conversation.channel != Channel.playground:
        raise NotFound("Conversation not found.")
    return conversation


async def messages_after(
    db: AsyncSession, service: ChatService, conversation: Conversation, after_seq: int
) -> list[MessageView]:
    # The stored rows, not MessageRead: the details panel needs the retrieval trace.
    rated = await FeedbackService(db).for_conversation(conversation)
    return [
        message_view(m, rated.get(m.id))
        for m in await service.messages(db, conversation, after_seq=after_seq)
    ]


def _partial(request: Request, ctx: AdminContext, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, {"ctx": ctx, "feedback_reasons": FEEDBACK_REASONS, **context}
    )


@router.get("/playground")
async def playground_page(
    request: Request, ctx: Admin, db: DbSession, runtime: RuntimeDep, c: str = ""
) -> Response:
    info = answer_mode_info(runtime.settings)
    conversation_id: uuid.UUID | None = None
    messages: list[MessageView] = []
    notice = None
    if c:
        try:
            conversation = await playground_conversation(db, ChatService(runtime), ctx, c)
        except NotFound:
            notice = "That is not a playground conversation of this organization; start a new one."
        else:
            conversation_id = conversation.id
            messages = await messages_after(db, ChatService(runtime), conversation, 0)
    return render(
        request,
        "ai/playground.html",
        nav="playground",
        feedback_reasons=FEEDBACK_REASONS,
        banner=mode_banner(info),
        info=info,
        conversation_id=conversation_id,
        messages=messages,
        notice=notice,
        max_chars=runtime.settings.max_message_chars,
    )


@router.post("/playground/conversations")
async def start_playground(ctx: Admin, db: DbSession, runtime: RuntimeDep) -> JSONResponse:
    body = ConversationCreate(customer=CustomerIn(name=f"Playground ({ctx.email})"[:200]))
    conversation, _ = await ChatService(runtime).start(db, ctx.organization.id, body, Channel.playground)
    return JSONResponse({"id": str(conversation.id)}, status_code=201)


@router.post("/playground/conversations/{conversation_id}/messages")
async def send_playground_message(
    request: Request,
    conversation_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    content: FormStr = "",
) -> Response:
    """The reply as Server-Sent Events (token, then done or error), framed like the public API's."""
    service = ChatService(runtime)
    try:
        conversation = await playground_conversation(db, service, ctx, conversation_id)
        accepted = await service.accept(db, principal_of(ctx), conversation.id, None, content)
    except AppError as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)
    await db.commit()  # kept before the answer streams, as in the public API
    return StreamingResponse(
        reply_stream(service.respond(accepted), request_id=request_id_var.get()),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/playground/conversations/{conversation_id}/messages")
async def playground_messages(
    request: Request, conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep, after: int = 0
) -> Response:
    """Stored messages after ``after`` as HTML, with the details panel (fetched once a reply is done)."""
    conversation = await playground_conversation(db, ChatService(runtime), ctx, conversation_id)
    messages = await messages_after(db, ChatService(runtime), conversation, max(0, after))
    return _partial(request, ctx, "ai/_messages.html", messages=messages)


@router.post("/playground/conversations/{conversation_id}/feedback")
async def playground_feedback(
    request: Request,
    conversation_id: str,
    ctx: Admin,
    db: DbSession,
    runtime: RuntimeDep,
    message_id: FormStr = "",
    helpful: FormStr = "",
    reason: FormStr = "",
) -> Response:
    """A thumbs up or down on a playground answer, stored as a customer's would be; the message again."""
    service = ChatService(runtime)
    try:
        conversation = await playground_conversation(db, service, ctx, conversation_id)
        try:
            body = FeedbackCreate.model_validate(
                {"message_id": message_id, "helpful": helpful == "true", "reason": reason or None}
            )
        except ValidationError:
            raise ValidationFailed("Choose helpful or not helpful, and one of the listed reasons.") from None
        conversation = await service.get(db, principal_of(ctx), conversation.id, None, for_update=True)
        feedback = await FeedbackService(db, runtime).record(conversation, body)
    except AppError as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)
    message = next(m for m in await service.messages(db, conversation) if m.id == feedback.message_id)
    return _partial(request, ctx, "ai/_messages.html", messages=[message_view(message, feedback)])
