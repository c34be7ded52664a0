"""`answerdesk backup` and `answerdesk restore`: one-line outcomes and refusals, exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli as run


def test_backup_to_a_file_and_a_folder_with_retention(cli_env: None, tmp_path: Path) -> None:
    assert run("org", "create", "Acme")[0] == 0
    code, _, err = run("backup")
    assert code == 1 and "give either --output FILE or --dir FOLDER" in err
    code, _, err = run("backup", "--output", str(tmp_path / "a.tar.gz"), "--keep", "2")
    assert code == 1 and "--keep goes with --dir" in err

    code, out, _ = run("backup", "--output", str(tmp_path / "a.tar.gz"))
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'a.tar.gz'}") and "1 organization" in out
    folder = tmp_path / "nightly"
    assert run("backup", "--dir", str(folder), "--keep", "1")[0] == 0
    code, out, _ = run("backup", "--dir", str(folder), "--keep", "1")
    assert code == 0 and "removed " in out
    assert len(list(folder.glob("answerdesk-backup-*.tar.gz"))) == 1


def test_restore_refuses_this_non_empty_instance_and_a_damaged_file(cli_env: None, tmp_path: Path) -> None:
    assert run("org", "create", "Acme")[0] == 0
    archive = tmp_path / "a.tar.gz"
    assert run("backup", "--output", str(archive))[0] == 0
    code, _, err = run("restore", str(archive))
    assert code == 1 and err.startswith("error: This instance already has 1 organization(s)")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(archive.read_bytes()[:200])
    code, _, err = run("restore", str(broken))
    assert code == 1 and "damaged or incomplete" in err and "nothing was restored" in err
