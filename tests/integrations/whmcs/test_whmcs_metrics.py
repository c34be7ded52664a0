"""WHMCS calls and their failures are counted at the client boundary, by action and outcome."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from tests.fakes.whmcs_server import FakeWhmcs
from tests.integrations.whmcs.conftest import ClientFactory

from answerdesk.integrations.whmcs import WhmcsClient
from answerdesk.integrations.whmcs.errors import WhmcsInvalidCredentials

ACTION = "GetSupportDepartments"


def calls(outcome: str) -> float:
    sample = REGISTRY.get_sample_value("answerdesk_whmcs_calls_total", {"action": ACTION, "outcome": outcome})
    return sample or 0.0


async def test_calls_and_failures_are_counted(
    fake: FakeWhmcs, whmcs: WhmcsClient, make_client: ClientFactory
) -> None:
    fake.add_department("Technical")
    ok, failed = calls("ok"), calls("WhmcsInvalidCredentials")
    await whmcs.get_support_departments()
    with pytest.raises(WhmcsInvalidCredentials):
        await make_client(secret="wrong-secret-xyz").get_support_departments()
    assert calls("ok") - ok == 1
    assert calls("WhmcsInvalidCredentials") - failed == 1
