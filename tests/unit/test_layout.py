"""The rooms of the tree and the direction of their imports (docs/architecture.md, "Rooms").

Read from the source with `ast`, so that a new import that breaks a rule fails here, at once,
rather than in a reviewer's head: `crypto/` imports nothing of the project; `protocol/` only
`crypto/`; `node/` never `federation/`; `federation/` never `node/owner/` or `node/querier/`;
nothing in production imports `cli/` or `dev/`; and no two modules import each other in a
circle at module level.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("crypto", "protocol", "proto", "node", "federation", "cli", "dev")
PRODUCTION = ("crypto", "protocol", "node", "federation")
# A section sign after an upper-case document name is a citation of a document outside the
# repository; the repository's own documents are cited by their docs/ path, RFCs as "RFC n §".
_OUTSIDE_CITATION = re.compile(r"\b(?!RFC\b)[A-Z]{4,}(?:\.md)? §")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                yield path


_MODULES = {_module(path): path for path in _sources()}


def _imports(path: Path, *, top_level_only: bool) -> Iterator[tuple[int, str]]:
    """(line, module) of each project import; `from a import b` gives `a.b` if that is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PACKAGES:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    yield node.lineno, submodule if submodule in _MODULES else node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    yield node.lineno, alias.name


def _refusal(importer: str, imported: str) -> str | None:
    room, target = importer.split(".", maxsplit=1)[0], imported.split(".", maxsplit=1)[0]
    if room == "crypto" and target != "crypto":
        return "crypto/ imports nothing of the project"
    if room == "protocol" and target not in ("protocol", "crypto", "proto"):
        return "protocol/ stands on crypto/ alone"
    if room == "protocol" and target == "proto":
        return "protocol/ knows no wire messages"
    if room in PRODUCTION and target in ("cli", "dev"):
        return "production code never imports cli/ or dev/"
    if room == "node" and target == "federation":
        return "node/ never imports federation/"
    if room == "federation" and imported.startswith(("node.owner", "node.querier")):
        return "federation/ uses node's infrastructure rooms only, not owner/ or querier/"
    return None


def test_every_import_points_the_way_the_rooms_allow() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: imports {imported}: {why}"
        for path in _sources()
        for line, imported in _imports(path, top_level_only=False)
        if (why := _refusal(_module(path), imported)) is not None
    ]
    assert wrong == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    graph: dict[str, set[str]] = {}
    for name, path in _MODULES.items():
        graph[name] = {
            imported
            for _, imported in _imports(path, top_level_only=True)
            if imported in _MODULES and imported != name
        }
    circles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


@pytest.mark.parametrize("package", PRODUCTION)
def test_code_cites_the_repository_or_the_rfcs_only(package: str) -> None:
    citing = [
        str(path.relative_to(ROOT))
        for path in (ROOT / package).rglob("*.py")
        if _OUTSIDE_CITATION.search(path.read_text(encoding="utf-8"))
    ]
    assert citing == [], "cite docs/ or an RFC section instead"
