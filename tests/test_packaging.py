"""The installed package (the Docker image installs a wheel) carries every data file the code reads."""

from __future__ import annotations

import tomllib
from pathlib import Path

import answerdesk

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(answerdesk.__file__).parent
# Files kept in the source tree that nothing reads at run time: scripts/train_sentiment.py's own data.
NOT_SHIPPED = ("sentiment/data/",)


def package_data_globs() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs: list[str] = config["tool"]["setuptools"]["package-data"]["answerdesk"]
    return globs


def test_every_data_file_of_the_package_is_declared() -> None:
    globs = package_data_globs()
    declared = {p for g in globs for p in PACKAGE.glob(g) if p.is_file()}
    data_files = [
        p
        for p in PACKAGE.rglob("*")
        if p.is_file()
        and p.suffix not in {".py", ".pyc"}
        and "__pycache__" not in p.parts
        and not str(p.relative_to(PACKAGE)).startswith(NOT_SHIPPED)
    ]
    missing = sorted(str(p.relative_to(PACKAGE)) for p in data_files if p not in declared)
    assert data_files and not missing, f"add these to [tool.setuptools.package-data]: {missing}"
