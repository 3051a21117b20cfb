"""The architecture's rules, checked on every run: core is UI-free, pages never touch Keras, charts have one style."""

import ast
import re
import subprocess
import sys

import pytest

from tests import structure
from tests.conftest import ROOT

IMPORT = r"^\s*(import|from)\s+{}\b"
CORE_FILES = sorted((ROOT / "core").rglob("*.py"))  # packages too (core/plots/...)
# The engine's execution paths import TensorFlow at module level: only a run loads them, never `import core.engine`.
ENGINE_RUN_MODULES = {f"core.engine.{name}" for name in
                      ("graph", "evaluation", "batched", "sample_space", "xla_per_copy", "run")}
CORE_MODULES = sorted(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                      for path in CORE_FILES if path.stem != "__main__")
LIGHT_CORE_MODULES = [name for name in CORE_MODULES if name not in ENGINE_RUN_MODULES]
PAGE_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]  # every script Streamlit serves


def _imports(path, package: str) -> bool:
    return re.search(IMPORT.format(package), path.read_text(), re.M) is not None


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda path: str(path.relative_to(ROOT / "core")))
def test_core_never_imports_streamlit(path):
    assert not _imports(path, "streamlit")


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda path: path.name)
def test_pages_never_import_tensorflow_or_keras(path):
    assert not _imports(path, "tensorflow") and not _imports(path, "keras")


def test_importing_core_does_not_import_tensorflow():
    """TensorFlow costs seconds to import: core modules import it inside the functions that need it, and the
    engine package keeps it in the modules only a run loads."""
    assert ENGINE_RUN_MODULES <= set(CORE_MODULES)  # the list names real modules
    modules = ", ".join(LIGHT_CORE_MODULES)
    code = f"import sys, {modules}; print([m for m in ('tensorflow', 'keras') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda path: path.name)
def test_pages_draw_charts_through_ui_charts(path):
    """One source of chart style: ui.charts.show draws with theme=None, so core.plots' template is not overridden."""
    assert "plotly_chart(" not in path.read_text()


@pytest.mark.parametrize("path", PAGE_FILES + sorted((ROOT / "ui").glob("*.py")), ids=lambda path: path.name)
def test_code_blocks_wrap_instead_of_being_cut_off(path):
    """A code line wider than the page is cut off on a projector (it scrolls sideways): every st.code wraps."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "code":
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            assert getattr(keywords.get("wrap_lines"), "value", None) is True, f"{path.name}:{node.lineno}"


# ---- structure: rules that keep the code base one readable house (tests/structure.py reads the source) ----

MAX_MODULE_LINES = 500  # a module past this mixes jobs: split it along its seams (docs/architecture.md)


def test_no_module_is_over_the_line_limit():
    over = {path: lines for path, lines in structure.line_counts().items() if lines > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: split them along their seams: {over}"


def test_no_import_cycle():
    """Imports inside functions count: a cycle hidden in a function is still a cycle."""
    assert [sorted(cycle) for cycle in structure.cycles()] == []


def test_no_private_name_used_across_modules():
    assert sorted(structure.private_uses()) == [], "make these public where they belong, or keep them inside"


def test_boolean_parameters_are_keyword_only():
    assert sorted(structure.positional_flags()) == [], "make these flags keyword-only: def f(x, *, flag=False)"


def test_parentheses_instead_of_backslash_continuations():
    assert structure.backslash_continuations() == []


def test_the_structure_rules_see_what_they_forbid(tmp_path):
    """The rules above pass only if tests/structure.py can find a violation: plant each form and look."""
    package, inner = tmp_path / "core", tmp_path / "core" / "pkg"
    inner.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f(x, flag=False):\n    from core import b\n"
                                  "    return b._hidden + \\\n        1\n")
    (package / "b.py").write_text("from core import a\n_hidden = 1\n" + "x = 1\n" * 600)
    (package / "c.py").write_text("import core.b\nfrom core import pkg\n\n\ndef g():\n"
                                  "    return core.b._hidden + pkg.sub._inner\n")
    (package / "d.py").write_text("from .b import _hidden as h\n")
    (inner / "__init__.py").write_text("from core import e\n")  # the package's __init__ imports core.e ...
    (inner / "sub.py").write_text("_inner = 2\n")
    (package / "e.py").write_text("from core.pkg.sub import _inner\n")  # ... which imports a submodule of it
    cycles = sorted(sorted(cycle) for cycle in structure.cycles(tmp_path))
    assert cycles == [["core.a", "core.b"], ["core.e", "core.pkg"]]  # the second goes through pkg/__init__.py
    assert structure.private_uses(tmp_path) == {
        "core.a -> core.b._hidden", "core.c -> core.b._hidden", "core.c -> core.pkg.sub._inner",
        "core.d -> core.b._hidden", "core.e -> core.pkg.sub._inner"}
    assert structure.positional_flags(tmp_path) == {"core.a.f(flag)"}
    assert structure.backslash_continuations(tmp_path) == ["core/a.py:3"]
    assert structure.line_counts(tmp_path)["core/b.py"] == 602


def test_imports_are_statements_the_rules_can_read():
    """A module-level __getattr__ or importlib.import_module would hide a dependency (and a cycle) from the rules."""
    def hides(node, tree) -> bool:
        return ((isinstance(node, ast.FunctionDef) and node.name == "__getattr__" and node in tree.body)
                or (isinstance(node, ast.Attribute) and node.attr == "import_module")
                or (isinstance(node, ast.Name) and node.id in ("import_module", "__import__"))
                or (isinstance(node, ast.ImportFrom) and any(alias.name == "import_module" for alias in node.names)))

    hidden = [f"{source.name}:{node.lineno}" for source in structure.sources() for node in ast.walk(source.tree)
              if hides(node, source.tree)]
    assert hidden == []
