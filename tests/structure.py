"""What tests/test_layering.py reads from the source: which lab modules import which (at any depth of the code,
imports inside functions included), the names they take from each other, long modules, boolean parameters and
backslash continuations. Reads the files as text (ast); imports nothing of the lab."""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("core", "ui")  # importable lab packages; pages/ and app.py are scripts that import them


@dataclass(frozen=True)
class Source:
    name: str  # dotted module name ("core.transfer", "pages.4_Transfer_Learning", "app")
    path: Path
    tree: ast.Module
    text: str


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@lru_cache(maxsize=4)
def sources(root: Path = ROOT) -> tuple[Source, ...]:
    """Every Python file of app.py, pages/, ui/ and core/ (core/__main__ included) under `root`."""
    paths = [root / "app.py"] if (root / "app.py").exists() else []
    paths += sorted((root / "pages").glob("*.py"))
    for package in PACKAGES:
        paths += sorted((root / package).rglob("*.py"))
    found = []
    for path in paths:
        text = path.read_text()
        found.append(Source(_module_name(path, root), path, ast.parse(text), text))
    return tuple(found)


def _modules(root: Path = ROOT) -> set[str]:
    return {source.name for source in sources(root)}


def _resolve(source: Source, node: ast.ImportFrom) -> str:
    """The absolute module of a `from ... import` (relative imports resolved against the source's package)."""
    if not node.level:
        return node.module or ""
    package = source.name.split(".")
    if not source.path.name == "__init__.py":
        package = package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _lab_module(name: str, modules: set[str]) -> str | None:
    """The longest lab module `name` is or lies in (core.transfer.fair.X -> core.transfer.fair)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def imports(source: Source, root: Path = ROOT) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every import of a lab module anywhere in the file; `from core
    import transfer` counts as an import of core.transfer when that is a module."""
    modules, found = _modules(root), []
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _lab_module(alias.name, modules)
                if target:
                    found.append((target, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(source, node)
            for alias in node.names:
                target = _lab_module(f"{base}.{alias.name}", modules)
                if target and target != base and target.endswith("." + alias.name):
                    found.append((target, None, node.lineno))
                elif _lab_module(base, modules):
                    found.append((_lab_module(base, modules), alias.name, node.lineno))
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """{module: lab modules it imports}, a package's own submodules importing their package included. Importing
    core.x.part first runs core/x/__init__.py, so it links to core.x too (unless core.x contains the importer)."""
    modules, graph = _modules(root), {}
    for source in sources(root):
        targets = set()
        for target, _, _ in imports(source, root):
            parts = target.split(".")
            targets |= {".".join(parts[:end]) for end in range(1, len(parts) + 1)}
        graph[source.name] = {target for target in targets if target in modules and target != source.name
                              and not source.name.startswith(target + ".")}
    return graph


def cycles(root: Path = ROOT) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan): each one is an import cycle."""
    graph = import_graph(root)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _module_aliases(source: Source, root: Path = ROOT) -> dict[str, str]:
    """{local name: lab module} for `import core.x as y`, `from core import x [as y]`."""
    modules, aliases = _modules(root), {}
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in modules:
                    aliases[alias.asname] = alias.name
                elif not alias.asname and alias.name.split(".")[0] in modules:  # `import core.x` binds `core`
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(source, node)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    return aliases


def private_uses(root: Path = ROOT) -> set[str]:
    """"user -> owner._name" for every `_private` name one lab module takes from another: imported by name, or
    read as an attribute of an imported lab module (`transfer._chunks`)."""
    found = set()
    for source in sources(root):
        aliases = _module_aliases(source, root)
        for target, name, _ in imports(source, root):
            if name is not None and name.startswith("_") and not name.startswith("__") and target != source.name:
                found.add(f"{source.name} -> {target}.{name}")
        modules = _modules(root)
        for node in ast.walk(source.tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            chain, value = [], node.value  # `transfer.units._x`: the chain transfer, units, read from the right
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in aliases:
                owner = _lab_module(".".join([aliases[value.id], *chain]), modules)
                if owner == ".".join([aliases[value.id], *chain]) and owner != source.name:
                    found.add(f"{source.name} -> {owner}.{node.attr}")
    return found


def line_counts(root: Path = ROOT) -> dict[str, int]:
    return {str(source.path.relative_to(root)): len(source.text.splitlines()) for source in sources(root)}


def positional_flags(root: Path = ROOT) -> set[str]:
    """"module.function(parameter)" for every parameter with a True/False default that can be passed by position."""
    found = set()
    for source in sources(root):
        for node in ast.walk(source.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                positional = node.args.posonlyargs + node.args.args
                defaults = node.args.defaults
                for argument, default in zip(positional[len(positional) - len(defaults):], defaults):
                    if isinstance(default, ast.Constant) and isinstance(default.value, bool):
                        found.add(f"{source.name}.{node.name}({argument.arg})")
    return found


def backslash_continuations(root: Path = ROOT) -> list[str]:
    """"path:line" of every line that a backslash continues (outside strings and comments)."""
    found = []
    for source in sources(root):
        tokens = list(tokenize.generate_tokens(io.StringIO(source.text).readline))
        for previous, token in zip(tokens, tokens[1:]):
            # Between two tokens on different lines, after anything but a line end: only a backslash joins them
            # (a backslash inside a string is part of the string token, never between tokens).
            if token.start[0] > previous.end[0] and previous.type not in (tokenize.NEWLINE, tokenize.NL,
                                                                          tokenize.COMMENT, tokenize.INDENT,
                                                                          tokenize.DEDENT):
                line = source.text.splitlines()[previous.end[0] - 1]
                if line.rstrip().endswith("\\"):
                    found.append(f"{source.path.relative_to(root)}:{previous.end[0]}")
    return found
