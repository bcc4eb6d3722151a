"""The layout shows the pipeline: few modules at the top, no import circles, no layer importing
from a layer above it (issue 10). Imports are read from the source (``ast``), including those
only made for type checking and those inside functions, so a circle cannot hide in either."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHI = Path(__file__).resolve().parents[1] / "chi"

# The layers, lowest first. A module may import from its own layer and the layers below.
# The base (contract, reference data, months, SQL loader, settings, progress, errors) serves
# every stage; state (the store, passwords, who a user is) sits above reading because a user's
# scope is a set of neighbourhoods, and below exports because every download is audited.
LAYERS = [
    {
        "chi",
        "chi.contract",
        "chi.reference",
        "chi.offences",
        "chi.months",
        "chi.sql",
        "chi.settings",
        "chi.progress",
        "chi.errors",
    },
    {"chi.extract.read"},
    {"chi.scoring"},
    {"chi.reading"},
    {"chi.state"},
    {"chi.exports"},
    {"chi.meetings"},
    {"chi.analysis"},
    {"chi.forecast"},
    {"chi.generate"},
    {"chi.cli", "chi.__main__"},
    {"chi.app"},
]


def _module(path: Path) -> str:
    rel = path.relative_to(CHI.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    mod = _module(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "chi")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".")
                base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.split(".")[0] != "chi":
                continue
            for a in node.names:  # `from chi import sql` imports the module chi.sql
                sub = f"{name}.{a.name}"
                found.add(sub if _exists(sub) else name)
    found.discard(mod)
    return found


def _exists(dotted: str) -> bool:
    p = CHI.parent / Path(*dotted.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in sorted(CHI.rglob("*.py"))}


def _layer(module: str) -> int:
    best, rank = -1, -1
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    return rank


def test_at_most_ten_modules_at_the_top() -> None:
    top = sorted(p.name for p in CHI.glob("*.py"))
    assert len(top) <= 10, top


def test_every_module_has_a_layer() -> None:
    assert [m for m in _graph() if _layer(m) < 0] == []


def test_no_module_imports_from_a_layer_above_it() -> None:
    graph = _graph()
    bad = [
        f"{m} -> {i}" for m, deps in graph.items() for i in sorted(deps) if _layer(i) > _layer(m)
    ]
    assert bad == []


def test_no_import_circles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if d not in graph:
                continue
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d) :], d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    # a package's __init__ that re-exports one of its own modules is not a circle
    real = [c for c in cycles if not (len(c) == 3 and c[1].startswith(c[0] + "."))]
    assert real == []


@pytest.mark.parametrize("name", ["parse_month", "month_label", "add_months", "month_end"])
def test_month_arithmetic_lives_in_one_module(name: str) -> None:
    defined = [_module(p) for p in CHI.rglob("*.py") if f"\ndef {name}(" in p.read_text()]
    assert defined == ["chi.months"]


def test_the_readme_pipeline_map_names_every_package_and_base_module() -> None:
    readme = (CHI.parent / "README.md").read_text()
    section = readme[
        readme.index("## The pipeline") : readme.index("\n## ", readme.index("## The pipeline") + 5)
    ]
    packages = sorted(p.parent.name for p in CHI.glob("*/__init__.py"))
    base = sorted(p.name for p in CHI.glob("*.py") if not p.name.startswith("__"))
    missing = [
        f"chi/{p}/"
        for p in packages
        if f"`chi/{p}/`" not in section and f"`chi/{p}/`," not in section
    ]
    missing += [f"chi/{m}" for m in base if f"`chi/{m}`" not in section]
    assert missing == []
