"""Widget settings: validation, and stored values that no longer validate falling back to defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from answerdesk.widget.settings import FieldMode, WidgetSettings, widget_settings_of


def test_suggestions_from_lines_and_prechat_modes() -> None:
    widget = WidgetSettings.model_validate(
        {"suggestions": "  Reset my password \n\nDNS help\n", "prechat": {"email": "required"}}
    )
    assert widget.suggestions == ["Reset my password", "DNS help"]
    assert widget.prechat.email == FieldMode.required and widget.prechat.name == FieldMode.off
    assert widget.prechat.enabled and not WidgetSettings().prechat.enabled


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("color", "red"),
        ("avatar_url", "javascript:alert(1)"),
        ("avatar_url", "data:image/png;base64,AAAA"),
        ("position", "top-left"),
        ("title", "   "),
        ("suggestions", ["a", "b", "c", "d", "e"]),
        ("suggestions", ["x" * 81]),
        ("prechat", {"phone": "sometimes"}),
        ("language", "pl"),
        ("language", "<script>"),
    ],
)
def test_invalid_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        WidgetSettings.model_validate({field: value})


def test_stored_values_that_no_longer_validate_fall_back_one_by_one() -> None:
    widget = widget_settings_of({"widget": {"color": "#ff0000", "position": "middle", "title": "Help"}})
    assert (widget.color, widget.position, widget.title) == ("#ff0000", "bottom-right", "Help")
    assert widget_settings_of(None) == WidgetSettings()


def test_language_is_auto_or_a_widget_language() -> None:
    assert WidgetSettings().language == "auto"
    assert WidgetSettings.model_validate({"language": " DE "}).language == "de"
    assert widget_settings_of({"widget": {"language": "klingon", "title": "Hilfe"}}).language == "auto"
