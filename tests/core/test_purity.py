"""hyperlearn.core must stay pure: no I/O layers, no clock, no global randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hyperlearn.core

CORE = Path(hyperlearn.core.__file__).resolve().parent
FORBIDDEN_MODULES = (
    "hyperlearn.store",
    "hyperlearn.web",
    "hyperlearn.llm",
    "hyperlearn.service",
    "hyperlearn.content",
    "hyperlearn.cli",
    "hyperlearn.settings",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "requests",
    "urllib",
    "sqlite3",
    "psycopg",
    "yaml",
    "os",
    "io",
    "pathlib",
    "shutil",
    "socket",
    "subprocess",
    "time",
    "lemminflect",
    "pymorphy3",
)
# Calls that read the clock or the global random state.
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
}
FORBIDDEN_BUILTINS = {"open", "input", "print"}


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.name)
def test_core_module_imports_no_io_layer(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = sorted(
        name
        for name in imported_modules(tree)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_MODULES)
    )
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.name)
def test_core_module_reads_no_clock_and_no_global_random(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            pair = (func.value.id, func.attr)
            if pair in FORBIDDEN_CALLS or (func.value.id == "random" and func.attr != "Random"):
                found.append(f"{pair[0]}.{pair[1]}() on line {node.lineno}")
        elif isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
            found.append(f"{func.id}() on line {node.lineno}")
    assert found == [], f"{path.name}: {found}"


def test_the_checks_can_fail() -> None:
    """Guard against a vacuous test: the detectors flag a known-bad module."""
    bad = ast.parse("import sqlalchemy\nfrom datetime import datetime\nx = datetime.now()\n")
    assert "sqlalchemy" in imported_modules(bad)
    assert len(core_modules()) >= 8
