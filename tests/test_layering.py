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

MAX_MODULE_LINES = 500
# Modules still over the limit, each with the most lines it may have: the list may only shrink (a module that
# splits or shrinks is taken off, or its ceiling lowered); no module joins it.
OVERSIZED_MODULES: dict[str, int] = {}
# Import cycles that remain (imports inside functions included); no new one may appear, and these may only shrink.
KNOWN_CYCLES: list[set[str]] = []
# `_private` names still taken from another module: none left; keep it so.
KNOWN_PRIVATE_USES: set[str] = set()
# Boolean parameters that can still be passed by position: none left; keep it so.
KNOWN_POSITIONAL_FLAGS: set[str] = set()


def test_no_module_grows_past_the_line_limit():
    over = {path: lines for path, lines in structure.line_counts().items() if lines > MAX_MODULE_LINES}
    new = {path: lines for path, lines in over.items() if path not in OVERSIZED_MODULES}
    grown = {path: (lines, OVERSIZED_MODULES[path]) for path, lines in over.items()
             if path in OVERSIZED_MODULES and lines > OVERSIZED_MODULES[path]}
    assert not new, f"modules over {MAX_MODULE_LINES} lines: split them along their seams: {new}"
    assert not grown, f"oversized modules grew (lines, ceiling): {grown}"


def test_ratchet_lists_name_only_what_still_exists():
    """A list entry that no longer applies must be removed, so the lists only ever shrink to nothing."""
    counts = structure.line_counts()
    stale = [f"{path} (now {counts.get(path, 0)})" for path, ceiling in OVERSIZED_MODULES.items()
             if counts.get(path, 0) < ceiling]
    assert not stale, f"lower or drop these ceilings in OVERSIZED_MODULES: {stale}"
    assert not KNOWN_PRIVATE_USES - structure.private_uses(), "drop fixed entries from KNOWN_PRIVATE_USES"
    assert not KNOWN_POSITIONAL_FLAGS - structure.positional_flags(), "drop fixed entries from KNOWN_POSITIONAL_FLAGS"
    remaining = structure.cycles()
    assert all(any(cycle <= known for cycle in remaining) for known in map(frozenset, KNOWN_CYCLES)), (
        "a known cycle is gone: drop it from KNOWN_CYCLES")


def test_no_new_import_cycle():
    """Imports inside functions count: a cycle hidden in a function is still a cycle."""
    new = [sorted(cycle) for cycle in structure.cycles()
           if not any(cycle <= frozenset(known) for known in KNOWN_CYCLES)]
    assert not new, f"import cycles among lab modules: {new}"


def test_no_new_private_name_used_across_modules():
    new = sorted(structure.private_uses() - KNOWN_PRIVATE_USES)
    assert not new, f"make these public where they belong (or keep them inside their module): {new}"


def test_boolean_parameters_are_keyword_only():
    new = sorted(structure.positional_flags() - KNOWN_POSITIONAL_FLAGS)
    assert not new, f"make these flags keyword-only (def f(x, *, flag=False)): {new}"


def test_parentheses_instead_of_backslash_continuations():
    assert structure.backslash_continuations() == []
