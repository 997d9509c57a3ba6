"""Apps import one way: usage and prompts read compare, compare and catalog read teams, nothing
reads back up; gateway/ never imports playground/. Something two apps need goes down, or travels
by a signal."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What each package may import of playground's apps (besides itself and playground.http).
ALLOWED = {
    "gateway": set(),
    "playground/teams": set(),
    "playground/catalog": {"teams"},
    "playground/compare": {"teams"},
    "playground/usage": {"teams", "compare"},
    "playground/prompts": {"teams", "compare"},
}
APPS = {"teams", "catalog", "compare", "usage", "prompts"}


def module_of(path):
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def absolute(node, module):
    """The module an ImportFrom names, relative ones (`from ..models import X`) resolved."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join([*package, *([node.module] if node.module else [])])


def imported_apps(path):
    found = set()
    module = module_of(path)
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = absolute(node, module)
            # `from .. import models` in playground/x/y.py names playground.x.models.
            names = [base] if node.module else [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "playground":
                found.add(parts[1] if len(parts) > 1 else "playground")
    return found


def test_apps_import_one_way():
    wrong = []
    for package, allowed in ALLOWED.items():
        own = package.rsplit("/", 1)[-1]
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for app in imported_apps(path):
                if package == "gateway" or (app in APPS and app != own and app not in allowed):
                    wrong.append(f"{path.relative_to(ROOT)} imports playground.{app}")
    assert wrong == []


def test_every_app_is_checked_and_relative_imports_count():
    apps = {p.parent.name for p in (ROOT / "playground").glob("*/apps.py")}
    assert apps == APPS
    assert absolute(ast.parse("from ..compare.models import Run").body[0], "playground.usage.views") == (
        "playground.compare.models"
    )
    assert absolute(ast.parse("from . import runs").body[0], "playground.compare.relay") == "playground.compare"
    assert module_of(ROOT / "playground" / "prompts" / "templatetags" / "prompt_library.py") == (
        "playground.prompts.templatetags.prompt_library"
    )
