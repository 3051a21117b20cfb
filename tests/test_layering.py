"""The architecture's rules, checked on every run: core is UI-free, pages never touch Keras, charts have one style."""

import ast
import re
import subprocess
import sys

import pytest

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
