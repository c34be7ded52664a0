"""Plans from the command line: seeded plans, create and update with clear errors, moving an organization."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli as run

pytestmark = pytest.mark.usefixtures("cli_env")


def test_seeded_plans_are_listed() -> None:
    code, out, err = run("plan", "list")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["free", "pro", "enterprise"]
    free = lines[0].split("\t")
    assert free[2] == "0.00 USD/month" and "answers=100" in free and "features=live_chat" in free
    pro = lines[1].split("\t")
    assert pro[2] == "49.00 USD/month" and "answers=5,000" in pro
    enterprise = lines[2].split("\t")
    assert enterprise[2] == "199.00 USD/month"
    assert "answers=unlimited" in enterprise and "chunks=unlimited" in enterprise


def test_create_update_and_set_plan() -> None:
    code, out, err = run(
        "plan", "create", "business", "--name", "Business", "--answers-per-month", "20000",
        "--chunks", "50000", "--seats", "25", "--price-id", "price_123", "--price", "99", "--whmcs",
    )  # fmt: skip
    assert code == 0, err
    fields = out.strip().split("\t")
    assert fields[:3] == ["business", "Business", "99.00 USD/month"]
    assert "answers=20,000" in fields and "seats=25" in fields and "stripe_price=price_123" in fields
    assert "features=whmcs,live_chat" in fields

    code, out, err = run("plan", "update", "business", "--answers-per-month", "unlimited", "--seats", "30")
    assert code == 0, err
    assert "answers=unlimited" in out and "seats=30" in out and "chunks=50,000" in out

    assert run("org", "create", "Blue Hosting", "--slug", "blue")[0] == 0
    code, out, err = run("org", "set-plan", "--org", "blue", "--plan", "business")
    assert code == 0, err
    assert out.strip() == "blue is now on plan business"
    code, out, _ = run("plan", "list")
    assert "orgs=1" in next(line for line in out.splitlines() if line.startswith("business\t"))

    assert run("org", "create", "Green", "--slug", "green", "--plan", "free")[0] == 0
    code, out, _ = run("plan", "list")
    assert "orgs=1" in next(line for line in out.splitlines() if line.startswith("free\t"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("plan", "create", "x", "--name", "X", "--answers-per-month", "lots"),
            "--answers-per-month must be",
        ),
        (("plan", "create", "x", "--name", "X", "--answers-per-month", "-5"), "at least 0"),
        (("plan", "create", "x", "--name", "X", "--answers-per-month", "5", "--seats", "0"), "at least 1"),
        (("plan", "create", "x", "--name", "X", "--answers-per-month", "5", "--price", "cheap"), "--price"),
        (("plan", "create", "Not A Slug", "--name", "X", "--answers-per-month", "5"), "--slug"),
        (("plan", "create", "free", "--name", "Again", "--answers-per-month", "5"), "already exists"),
        (
            ("plan", "update", "nope", "--seats", "3"),
            "No plan with slug 'nope' (plans: free, pro, enterprise)",
        ),
        (("plan", "update", "free"), "nothing to change"),
        (("org", "set-plan", "--org", "nope", "--plan", "free"), "No organization"),
    ],
)
def test_bad_input_is_one_clear_line(args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args)
    assert code == 1
    assert message in err, err
    assert "Traceback" not in err


def test_answers_per_month_is_required() -> None:
    code, _, err = run("plan", "create", "x", "--name", "X")
    assert code == 2 and "--answers-per-month" in err


def test_set_plan_to_an_unknown_plan() -> None:
    assert run("org", "create", "Blue", "--slug", "blue")[0] == 0
    code, _, err = run("org", "set-plan", "--org", "blue", "--plan", "platinum")
    assert code == 1 and "No plan with slug 'platinum'" in err
