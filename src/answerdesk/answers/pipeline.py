"""The answer pipeline: standalone query, retrieval, relevance and FAQ checks, LLM or extractive answer."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.answers.citations import resolve_citations
from answerdesk.answers.extractive import compose_extractive
from answerdesk.answers.followup import clean_rewrite, looks_like_followup, standalone_query
from answerdesk.answers.gate import (
    Evidence,
    best_sentence_cosine,
    evidence_of,
    sentence_vectors_ready,
    shipped_gate,
)
from answerdesk.answers.guard import LeakGuard
from answerdesk.answers.passages import Citation, Passage, cite, number_passages, split_faq
from answerdesk.answers.prompt import (
    DEFAULT_SYSTEM_PROMPT,
    ReplyExample,
    Turn,
    build_messages,
    rewrite_messages,
    strip_example_markers,
)
from answerdesk.answers.settings import AiSettings, completion_params
from answerdesk.answers.suggestions import suggest_followups
from answerdesk.answers.words import content_words
from answerdesk.chat.models import AnswerMode
from answerdesk.integrations.llm import CompletionParams, LLMError, StreamDone, TokenDelta
from answerdesk.kit.db import session_scope
from answerdesk.languages.detect import detect_language
from answerdesk.languages.texts import Text, english, quoted_in, say
from answerdesk.runtime import Runtime

log = structlog.get_logger(__name__)

# The English wording; customers get these in their language (languages/texts.py).
NO_ANSWER = english(Text.no_answer)
HANDOFF = english(Text.handoff)
LLM_DOWN_NO_PASSAGES = english(Text.cannot_answer)
REWRITE_MAX_TOKENS = 60
REWRITE_TIMEOUT_SECONDS = 3.0
# Passages within this cosine of the best one are "relevant": quoted offline, and the fallback's source.
RELEVANT_MARGIN = 0.15


@dataclass(frozen=True)
class AnswerRequest:
    organization_id: uuid.UUID
    organization_name: str
    question: str
    history: Sequence[Turn]
    ai: AiSettings
    wants_human: bool = False
    tags: Sequence[str] | None = None
    question_vector: npt.NDArray[np.float32] | None = None  # the question's embedding, if already made
    language: str | None = None  # the customer's (ISO 639-1): bot texts, answer language, query translation
    # Staff-approved replies to similar questions (ticket drafts): tone and content, never sources.
    examples: Sequence[ReplyExample] = ()
    # The organization's index generation if the caller has just read it (a chat message, with the question).
    index_generation: int | None = None
    # Whether the plan has this AI answer left, asked only once the search found something to answer from
    # (the chat counts it meanwhile). False: the customer is offered a person instead, with no model call.
    admission: Callable[[], Awaitable[bool]] | None = None


@dataclass
class AnswerResult:
    """The finished answer: what the customer sees, and the trace the admin shows beside it."""

    text: str
    mode: AnswerMode
    citations: list[Citation] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    query: str = ""
    passages: list[Passage] = field(default_factory=list)
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int = 0
    first_token_ms: int | None = None
    retrieval_ms: float = 0.0
    error: str | None = None
    gate: dict[str, float] = field(default_factory=dict)  # the relevance gate's inputs and probability
    # The search query's vector (not in the trace): stored with the customer's question for knowledge gaps.
    query_vector: npt.NDArray[np.float32] | None = None

    @property
    def offers_human(self) -> bool:
        # An answer that cites nothing is not grounded: the model said it does not know, or failed.
        return self.mode in (AnswerMode.no_answer, AnswerMode.handoff, AnswerMode.quota) or not self.citations

    def trace(self) -> dict[str, object]:
        return {
            "query": self.query,
            "retrieval_ms": round(self.retrieval_ms, 1),
            "first_token_ms": self.first_token_ms,
            "error": self.error,
            "gate": self.gate,
            "passages": [
                {
                    "n": p.n,
                    "chunk_id": p.chunk_id,
                    "title": p.title,
                    "section": p.section,
                    "source": p.source,
                    "score": round(p.score, 5),
                    "dense_score": None if p.dense_score is None else round(p.dense_score, 4),
                    "question_score": None if p.question_score is None else round(p.question_score, 4),
                }
                for p in self.passages
            ],
        }


AnswerEvent = TokenDelta | AnswerResult


class AnswerPipeline:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.llm = runtime.llm

    @property
    def mode(self) -> AnswerMode:
        """The mode a knowledge answer takes on this instance (the admin shows it)."""
        return AnswerMode.llm if self.llm is not None else AnswerMode.extractive

    async def run(self, request: AnswerRequest) -> AsyncIterator[AnswerEvent]:
        """``TokenDelta`` events while the answer is written, then exactly one ``AnswerResult``.

        Closing the iterator early (the client went away) closes the model's stream, which stops generation.
        """
        started = time.perf_counter()
        if request.wants_human:
            handoff = say(Text.handoff, request.language)
            yield TokenDelta(text=handoff)
            yield self._finish(AnswerResult(text=handoff, mode=AnswerMode.handoff), started)
            return
        # One session and one read of the index generation for the knowledge base's language and the search
        # (none if the caller read it). A current index copy knows its language and rows: then the session
        # never connects.
        async with session_scope(self.runtime.sessionmaker) as db:
            generation = request.index_generation
            if generation is None:
                generation = await self.runtime.retriever.generation(db, request.organization_id)
            query, translated = await self._standalone(request, db, generation)
            retrieve_start = time.perf_counter()
            passages, evidence, query_vector = await self._retrieve(request, query, db, generation)
            retrieval_ms = (time.perf_counter() - retrieve_start) * 1000
        # Several signals decide, not one cosine: see answers/gate.py. The threshold is the probability cut.
        probability = shipped_gate().probability(evidence)
        in_scope = bool(passages) and probability >= request.ai.relevance_threshold
        relevant = _relevant(passages) if in_scope else []
        streamed = False
        if not relevant:
            no_answer = say(Text.no_answer, request.language)
            result = AnswerResult(text=no_answer, mode=AnswerMode.no_answer, passages=passages)
        elif request.admission is not None and not await request.admission():
            log.info("answers.quota_reached", organization_id=str(request.organization_id))
            result = AnswerResult(text=say(Text.cannot_answer, request.language), mode=AnswerMode.quota)
        else:
            # A curated answer is in the help centre's language: a customer writing in another one gets the
            # model's answer from it, in their language, instead.
            faq = None if translated else self._faq_match(passages, request.ai.faq_threshold)
            if faq is not None:
                result = faq
            elif self.llm is None:
                result = self._extractive(query, relevant, AnswerMode.extractive, request.language)
            else:
                # The model sees every retrieved passage (a weak one may still hold the detail asked for).
                result_holder: list[AnswerResult] = []
                async for event in self._generate(request, query, passages, relevant, result_holder):
                    streamed = True
                    yield event
                result = result_holder[0]
            result.passages = passages
            used = {c.n for c in result.citations}
            result.suggestions = suggest_followups(request.question, passages, used)
        if not streamed:
            # Streaming clients get every answer the same way, even one that was never generated.
            yield TokenDelta(text=result.text)
        result.query = query
        result.query_vector = query_vector
        result.retrieval_ms = retrieval_ms
        result.gate = {**evidence.as_dict(), "probability": round(probability, 4)}
        yield self._finish(result, started)

    # -- stages -------------------------------------------------------------------------------------

    async def _standalone(
        self, request: AnswerRequest, db: AsyncSession, generation: int
    ) -> tuple[str, bool]:
        """The search query: a follow-up made standalone; with a model, in the help centre's language.

        Also whether the model was asked to translate it (the customer writes in another language).
        """
        followup = bool(request.history) and looks_like_followup(request.question)
        heuristic = standalone_query(request.question, request.history) if followup else request.question
        if self.llm is None:
            return heuristic, False
        # The embedder reads one language well: a question in another one is translated before the search.
        target = await self._translation_target(request, db, generation)
        if not followup and target is None:
            return request.question, False
        await db.commit()  # gives the connection back while the model rewrites (the session goes on after)
        # No model call, not even this one, once the plan's answers are used up. Asked without a connection:
        # counting the answer needs one of its own.
        if request.admission is not None and not await request.admission():
            return heuristic, False
        params = completion_params(request.ai, self.runtime.settings).model_copy(
            update={"temperature": 0.0, "max_tokens": REWRITE_MAX_TOKENS, "top_p": None}
        )
        messages = rewrite_messages(request.question, request.history, target_language=target)
        try:
            async with asyncio.timeout(REWRITE_TIMEOUT_SECONDS):
                done = await self.llm.complete(messages, params)
        except (LLMError, TimeoutError) as exc:
            log.warning("answers.rewrite_failed", error=str(exc), translate_to=target)
            return heuristic, target is not None
        return clean_rewrite(done.text, heuristic), target is not None

    async def _translation_target(
        self, request: AnswerRequest, db: AsyncSession, generation: int
    ) -> str | None:
        """The knowledge base's language when the customer writes in another one, else None."""
        if request.language is None:
            return None
        knowledge = await self.runtime.knowledge_languages.of(
            db, request.organization_id, generation=generation
        )
        return knowledge if knowledge is not None and knowledge != request.language else None

    async def _retrieve(
        self, request: AnswerRequest, query: str, db: AsyncSession, generation: int
    ) -> tuple[list[Passage], Evidence, npt.NDArray[np.float32]]:
        vector = request.question_vector if query == request.question else None
        embedder = await self.runtime.embedder()
        if vector is None:
            vector = await asyncio.to_thread(embedder.embed_query, query)
        found = await self.runtime.retriever.search(
            db,
            request.organization_id,
            query,
            k=request.ai.retrieval_k,
            tags=request.tags,
            query_vector=vector,
            words=sorted(content_words(query)),
            generation=generation,
        )
        await (
            db.commit()
        )  # done with the database: its connection goes back before the sentences are embedded
        if sentence_vectors_ready(found):  # a worker thread would cost more than the work
            sentence = best_sentence_cosine(embedder, vector, found)
        else:
            sentence = await asyncio.to_thread(best_sentence_cosine, embedder, vector, found)
        return number_passages(found), evidence_of(found, sentence), vector

    def _faq_match(self, passages: Sequence[Passage], threshold: float) -> AnswerResult | None:
        """A curated FAQ whose *question* means the same as the customer's is answered as written.

        The question's cosine comes with the search (the FAQ-question index), so this embeds nothing.
        """
        candidates = [
            (p.question_score, p, qa)
            for p in passages
            if p.kind == "faq" and p.question_score is not None and (qa := split_faq(p.text)) is not None
        ]
        if not candidates:
            return None
        score, passage, (_, answer) = max(candidates, key=lambda c: c[0])
        if score < threshold:
            return None
        return AnswerResult(text=f"{answer} [{passage.n}]", mode=AnswerMode.faq, citations=[cite(passage)])

    def _extractive(
        self, query: str, passages: Sequence[Passage], mode: AnswerMode, language: str | None
    ) -> AnswerResult:
        if not passages:
            return AnswerResult(text=say(Text.cannot_answer, language), mode=mode)
        cited = compose_extractive(query, passages, language=language)
        text = cited.text
        if language is not None and cited.citations:
            # Quotes are never translated: the customer is told which language they are in.
            quoted = {c.n for c in cited.citations}
            written_in = detect_language("\n".join(p.text for p in passages if p.n in quoted))
            if written_in is not None and written_in != language:
                text = f"{quoted_in(written_in, language)} {text}"
        return AnswerResult(text=text, mode=mode, citations=cited.citations)

    async def _generate(
        self,
        request: AnswerRequest,
        query: str,
        passages: Sequence[Passage],
        relevant: Sequence[Passage],
        out: list[AnswerResult],
    ) -> AsyncIterator[TokenDelta]:
        assert self.llm is not None
        system_prompt = request.ai.system_prompt or DEFAULT_SYSTEM_PROMPT
        messages = build_messages(
            system_prompt=system_prompt,
            organization=request.organization_name,
            passages=passages,
            history=request.history,
            question=request.question if query == request.question else f"{request.question}\n({query})",
            language=answer_language(request),
            examples=request.examples,
        )
        params: CompletionParams = completion_params(request.ai, self.runtime.settings)
        guard = LeakGuard(system_prompt)
        parts: list[str] = []
        try:
            async with contextlib.aclosing(self.llm.stream(messages, params)) as stream:
                async for event in stream:
                    if isinstance(event, TokenDelta):
                        parts.append(event.text)
                        safe = guard.push(event.text)
                        if guard.leaked:
                            break
                        if safe:
                            yield TokenDelta(text=safe)
                    elif isinstance(event, StreamDone):
                        if rest := guard.flush():
                            yield TokenDelta(text=rest)
                        completion = event.completion
                        text = completion.text
                        if request.examples:
                            text = strip_example_markers(text)
                        # Only the numbered passages can be cited: examples are lettered, never numbered.
                        cited = resolve_citations(text, passages)
                        out.append(
                            AnswerResult(
                                text=cited.text,
                                mode=AnswerMode.llm,
                                citations=cited.citations,
                                model=completion.model,
                                prompt_tokens=completion.prompt_tokens,
                                completion_tokens=completion.completion_tokens,
                                first_token_ms=None
                                if completion.first_token_ms is None
                                else round(completion.first_token_ms),
                            )
                        )
        except LLMError as exc:
            # The customer still gets something true: quoted passages, or the offer of a human.
            log.warning("answers.llm_failed", error=str(exc), model=params.model, streamed=len(parts))
            fallback = self._extractive(query, relevant, AnswerMode.fallback, request.language)
            fallback.error = f"{type(exc).__name__}: {exc}"
            out.append(fallback)
            return
        if guard.leaked:
            log.warning("answers.prompt_leak_blocked", organization_id=str(request.organization_id))
            leak = say(Text.prompt_leak, request.language)
            out.append(AnswerResult(text=leak, mode=AnswerMode.fallback, error="prompt leak"))
        elif not out:  # a stream that ended without its final event is a broken answer, not a short one
            fallback = self._extractive(query, relevant, AnswerMode.fallback, request.language)
            fallback.error = "stream ended early"
            out.append(fallback)

    @staticmethod
    def _finish(result: AnswerResult, started: float) -> AnswerResult:
        result.latency_ms = round((time.perf_counter() - started) * 1000)
        return result


def answer_language(request: AnswerRequest) -> str:
    """The organization's fixed answer language, else the customer's, else "auto" (the model judges)."""
    if request.ai.answer_language != "auto" or request.language is None:
        return request.ai.answer_language
    return request.language


def _relevant(passages: Sequence[Passage]) -> list[Passage]:
    """Passages worth quoting once the gate says the question is in scope: the best and any close to it."""
    best = max(p.similarity for p in passages)
    return [p for p in passages if p.similarity >= best - RELEVANT_MARGIN]
