"""Apps import one way: usage reads compare, compare and catalog read teams, nothing reads back up;
gateway/ never imports playground/. Something two apps need goes down, or travels by a signal."""

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
}
APPS = {"teams", "catalog", "compare", "usage"}


def imported_apps(path):
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
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
