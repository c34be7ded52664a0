"""Knowledge-gap jobs: the weekly e-mail to admins of organizations that asked for it."""

from __future__ import annotations

from answerdesk.gaps.digest import send_due_digests
from answerdesk.kit.jobs import JobContext, periodic


@periodic("gaps.send_digests", every_seconds=3600)
async def send_digests(ctx: JobContext) -> None:
    """Hourly look for organizations whose weekly e-mail is due (a week after the last one)."""
    await send_due_digests(ctx.runtime)
