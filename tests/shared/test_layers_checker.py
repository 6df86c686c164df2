"""The checker behind each app's layer test finds what it must: an upward import (even
one hidden in a function), a cycle of rooms or of modules, a room nobody placed; and
leaves TYPE_CHECKING imports alone."""

from __future__ import annotations

from pathlib import Path

from tests.layers import oversized, problems


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def app_with(tmp_path: Path, **extra: str) -> Path:
    files = {
        "app/__init__.py": "from app.top import views\n",
        "app/low/__init__.py": "",
        "app/low/models.py": "X = 1\n",
        "app/top/__init__.py": "",
        "app/top/views.py": "from app.low.models import X\n",
    }
    files.update({k.replace("__", "/") + ".py": v for k, v in extra.items()})
    write(tmp_path, files)
    return tmp_path


LAYERS = [{"low"}, {"top"}]


def test_a_house_in_order_has_no_problems(tmp_path):
    assert problems("app", LAYERS, app_with(tmp_path)) == []


def test_an_upward_import_inside_a_function_is_found(tmp_path):
    root = app_with(tmp_path, app__low__rules="def f():\n    from app.top import views\n")
    found = problems("app", LAYERS, root)
    assert any("app.low.rules:2 imports app.top.views" in p for p in found)
    assert any("cycle" in p and "low ↔ top" in p for p in found)


def test_type_checking_imports_do_not_count(tmp_path):
    text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.top import views\n"
    assert problems("app", LAYERS, app_with(tmp_path, app__low__rules=text)) == []


def test_a_module_cycle_inside_a_room_is_found(tmp_path):
    root = app_with(
        tmp_path,
        app__top__a="from app.top import b\n",
        app__top__b="from . import a\n",
    )
    assert problems("app", LAYERS, root) == [
        "modules import each other in a cycle: app.top.a ↔ app.top.b"
    ]


def test_a_room_in_no_layer_and_an_import_of_the_factory_are_found(tmp_path):
    root = app_with(tmp_path, app__extra="import app\n")
    found = problems("app", LAYERS, root)
    assert "app.extra is in no layer: place it in the stated order" in found
    assert any("imports the app factory" in p for p in found)


def test_long_modules_are_listed(tmp_path):
    root = app_with(tmp_path, app__low__long="x = 1\n" * 501)
    assert oversized("app", 500, root) == ["app/low/long.py: 501 lines"]
