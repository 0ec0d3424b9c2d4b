"""The layout of tests/: no module imports from a test module.

Shared fixtures live in conftest.py (pytest finds them without imports), shared helper functions and
constants in helpers.py; a test module that imported another would run that module's fixtures and
helpers under a second name and couple the two files. Imports are read with ast, so an import inside a
function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    """test_x, test_x.y, tests.test_x: a module of the test suite rather than a helper."""
    parts = dotted.split(".")
    return parts[0].startswith("test_") or (parts[0] == "tests" and len(parts) > 1 and parts[1].startswith("test_"))


def imports_of_test_modules(source: str, filename: str = "<test>") -> list[str]:
    """Each import of a test module in the source, as 'line N: import ...'."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and _is_test_module(module):
                names = [module]
            elif module in ("", "tests"):  # from tests import test_x, from . import test_x
                names = [alias.name for alias in node.names if alias.name.startswith("test_")]
            else:
                names = []
        else:
            continue
        found.extend(f"line {node.lineno}: imports {name}" for name in names)
    return found


@pytest.mark.parametrize("source,expected", [
    ("from test_pages import page\n", ["line 1: imports test_pages"]),
    ("import test_browser\n", ["line 1: imports test_browser"]),
    ("import os, test_browser as tb\n", ["line 1: imports test_browser"]),
    ("from tests.test_pages import page\n", ["line 1: imports tests.test_pages"]),
    ("from tests import test_pages\n", ["line 1: imports test_pages"]),
    ("from . import test_pages\n", ["line 1: imports test_pages"]),
    ("def helper():\n    from test_analytics import play\n", ["line 2: imports test_analytics"]),
    ("from helpers import page\nfrom quizapp.quiz import play\nimport pytest\n", []),
    ("import testing_tools\nfrom tests import helpers\n", []),
])
def test_the_check_finds_imports_of_test_modules(source, expected):
    assert imports_of_test_modules(source) == expected


def test_no_module_under_tests_imports_a_test_module():
    modules = sorted(TESTS.glob("*.py"))
    assert TESTS / "conftest.py" in modules and TESTS / "helpers.py" in modules
    assert len([m for m in modules if m.name.startswith("test_")]) > 40  # the glob found the suite
    offences = [f"{module.name} {found}" for module in modules
                for found in imports_of_test_modules(module.read_text(encoding="utf-8"), str(module))]
    assert not offences, ("test modules must not import from one another: move shared fixtures to conftest.py "
                          f"and shared helpers and constants to helpers.py: {offences}")


def test_helper_modules_define_no_fixtures():
    """A fixture shared through an import is a fixture in disguise: shared fixtures belong in conftest.py."""
    for name in ("helpers.py", "_live.py"):
        tree = ast.parse((TESTS / name).read_text(encoding="utf-8"), name)
        fixtures = [node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                    and any("fixture" in ast.unparse(d) for d in node.decorator_list)]
        assert not fixtures, f"{name} defines fixtures {fixtures}: move them to conftest.py"
