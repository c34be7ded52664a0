"""Imports every model so that Base.metadata is complete (Alembic, tests)."""

from answerdesk.analytics.models import ConversationBucket, ConversationStat, RollupState
from answerdesk.auth.models import ApiKey, AuditLog, AuthSession, Membership, User
from answerdesk.billing.models import Plan, StripeEvent, Subscription, UsagePeriod
from answerdesk.chat.models import Conversation, Message, MessageFeedback
from answerdesk.gaps.models import GapResolution
from answerdesk.kit.db import Base
from answerdesk.knowledge.models import Chunk, Document, IndexState
from answerdesk.privacy.models import ErasedTicket, OrganizationExport
from answerdesk.signup.models import SignupInvitation
from answerdesk.tenants.models import Organization
from answerdesk.tickets.models import (  # noqa: F401
    ApprovedReply,
    Draft,
    Ticket,
    TicketMessage,
    WhmcsConnection,
)

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
    "ErasedTicket",
    "GapResolution",
    "IndexState",
    "Membership",
    "Message",
    "MessageFeedback",
    "Organization",
    "OrganizationExport",
    "Plan",
    "RollupState",
    "SignupInvitation",
    "StripeEvent",
    "Subscription",
    "UsagePeriod",
    "User",
]
