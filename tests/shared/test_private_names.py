"""A module's underscored names are its own: no module of the apps or of ``shared``
imports another module's private helper. What several modules need is given a public
name in a module of its own (``diary_service/school/pages.py``, for one), so that
reading a module tells what others rely on."""

from __future__ import annotations

import ast
import sys

from tests.layers import ROOT

PACKAGES = ("portal", "diary_service", "shared")
ALLOWED = {"_", "_l"}  # gettext's conventional names


def private_imports() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                if node.module.split(".")[0] not in PACKAGES:
                    continue
                for alias in node.names:
                    name = alias.name
                    if name.startswith("_") and not name.startswith("__") and name not in ALLOWED:
                        where = path.relative_to(ROOT)
                        found.append(f"{where}:{node.lineno} imports {node.module}.{name}")
    return found


def test_no_module_imports_another_modules_private_names():
    assert private_imports() == []


def test_the_check_sees_a_private_import(tmp_path, monkeypatch):
    """The check itself: a module importing ``_helper`` from a sibling is reported."""
    package = tmp_path / "portal"
    package.mkdir()
    (package / "a.py").write_text("def _helper():\n    return 1\n")
    (package / "b.py").write_text("from portal.a import _helper\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert private_imports() == ["portal/b.py:1 imports portal.a._helper"]
