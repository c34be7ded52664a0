"""`answerdesk user create --operator` and `answerdesk user operator`."""

from __future__ import annotations

from tests.conftest import run_cli as run


def test_operator_users_from_the_cli(cli_env: None) -> None:
    code, out, _ = run("user", "create", "--email", "ops@instance.example", "--operator")
    assert code == 0, out
    assert "ops@instance.example (instance operator)" in out and "password: " in out

    code, _, err = run("user", "create", "--email", "nobody@example.com")
    assert code == 1 and "--org is required" in err

    assert run("org", "create", "Acme")[0] == 0
    code, out, _ = run(
        "user", "create", "--org", "acme", "--email", "boss@acme.example", "--role", "admin", "--operator"
    )
    assert code == 0 and "and instance operator" in out
    code, out, _ = run("user", "operator", "--email", "boss@acme.example", "--revoke")
    assert code == 0 and "no longer" in out
    code, _, err = run("user", "operator", "--email", "ghost@example.com")
    assert code == 1 and "No user" in err
    code, _, err = run("user", "create", "--email", "ops@instance.example", "--operator")
    assert code == 1 and "already exists" in err
