"""Imports every model so that Base.metadata is complete (Alembic, tests)."""

from answerdesk.analytics.models import ConversationBucket, ConversationStat, RollupState
from answerdesk.auth.models import ApiKey, AuditLog, AuthSession, Membership, User
from answerdesk.chat.models import Conversation, Message, MessageFeedback
from answerdesk.gaps.models import GapResolution
from answerdesk.kit.db import Base
from answerdesk.knowledge.models import Chunk, Document, IndexState
from answerdesk.tenants.models import Organization
from answerdesk.tickets.models import Draft, Ticket, TicketMessage, WhmcsConnection  # noqa: F401

__all__ = [
    "ApiKey",
    "AuditLog",
    "AuthSession",
    "Base",
    "Chunk",
    "Conversation",
    "ConversationBucket",
    "ConversationStat",
    "Document",
    "GapResolution",
    "IndexState",
    "Membership",
    "Message",
    "MessageFeedback",
    "Organization",
    "RollupState",
    "User",
]
