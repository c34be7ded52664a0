"""Widget API response shapes."""

from __future__ import annotations

from answerdesk.widget.settings import WidgetSettings


class WidgetConfigRead(WidgetSettings):
    """What the widget script needs to draw itself for one organization (public: no secrets here)."""

    organization_name: str
    # Set when the organization's plan keeps the widget's "Powered by Answerdesk" link (its target).
    powered_by_url: str | None = None
