"""Every page script (app.py and pages/*.py) runs on its own inside its frame, and ui.registry lists exactly them."""

import ast
import gzip

import numpy as np
import pytest
from streamlit.runtime.scriptrunner import script_runner
from streamlit.source_util import page_icon_and_name, page_sort_key

from core import data
from tests.app_support import open_page
from tests.conftest import ROOT, idx_bytes
from ui import keras_state
from ui.registry import ALL_PAGES, PAGES

PAGE_SCRIPTS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]  # what Streamlit serves, listed or not


@pytest.mark.parametrize("path", PAGE_SCRIPTS, ids=lambda path: path.name)
def test_every_page_script_starts_with_its_frame(path):
    """Each page runs on its own from a fresh server's first request, so each must set itself up first."""
    statements = [node for node in ast.parse(path.read_text()).body
                  if not isinstance(node, (ast.Import, ast.ImportFrom))
                  and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]  # the docstring
    assert ast.unparse(statements[0]) == "page_frame(__file__)", f"{path.name} must start with page_frame(__file__)"
    calls = [node for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "page_frame"]
    assert len(calls) == 1


def test_registry_lists_exactly_the_pages_folder_in_menu_order():
    files = sorted((ROOT / "pages").glob("*.py"), key=page_sort_key)  # Streamlit's own menu order
    assert [info.path for info in PAGES] == [f"pages/{file.name}" for file in files]
    for info, file in zip(PAGES, files):
        assert info.url_path == page_icon_and_name(file)[1]  # Streamlit's own name for the address
        assert info.title == info.url_path.replace("_", " ")


@pytest.mark.parametrize("page", ALL_PAGES, ids=[page.path for page in ALL_PAGES])
def test_page_renders_inside_its_frame(page, monkeypatch):
    """Opened directly, as a fresh server's first request would: title, Environment panel, Keras-state guard."""
    monkeypatch.setattr(script_runner, "_clean_problem_modules", lambda: None)  # this page must install the guard
    app = open_page(page.path)
    assert app.title, "the page drew no title"
    assert "Environment" in [expander.label for expander in app.sidebar.expander]
    assert "TensorFlow 2.21" in " ".join(caption.value for caption in app.sidebar.caption)
    assert script_runner._clean_problem_modules is keras_state._close_matplotlib_only


def test_home_says_where_to_start_and_links_every_page():
    app = open_page("app.py")
    assert app.title[0].value.startswith("Training deep neural networks")
    assert "**Start here.**" in app.markdown[1].value  # right under the introduction
    links = app.main.get("page_link")
    assert [link.proto.label for link in links] == [f"Start with {PAGES[0].title}"] + [page.title for page in PAGES]
    assert [link.proto.icon for link in links[1:]] == [page.icon for page in PAGES]


@pytest.mark.parametrize("path", ["app.py", PAGES[-1].path])
def test_menu_reads_home_then_every_page(path):
    """The frame's menu (Streamlit's own is off in config.toml: it would call the home page "app"). Opened as the
    server runs it (app.py is the main script) the entries are page links; AppTest opening a page file directly
    serves that file alone, and the menu falls back to plain links to the same addresses."""
    app = open_page(path)
    links = app.sidebar.get("page_link")
    if path == "app.py":
        assert [link.proto.label for link in links] == ["Home"] + [page.title for page in PAGES]
        assert links[0].proto.page == "" and links[1].proto.page == PAGES[0].url_path
    else:
        assert len(links) < len(ALL_PAGES)  # only the page itself is served here
        text = " ".join(markdown.value for markdown in app.sidebar.markdown)
        for info in ALL_PAGES:
            assert f"[{info.title}](/{info.url_path})" in text or info.title in [link.proto.label for link in links]


def test_config_hides_the_deploy_button_and_streamlits_own_menu():
    import tomllib

    client = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["client"]
    assert client["showSidebarNavigation"] is False and client["toolbarMode"] in ("viewer", "minimal")


def test_sidebar_shows_data_source(fashion_mnist):
    captions = " ".join(caption.value for caption in open_page("app.py").sidebar.caption)
    assert "TensorFlow 2.21" in captions and "Keras 3.15" in captions
    assert f"Fashion-MNIST from `{fashion_mnist.source}`" in captions


def _damaged(folder, kind):
    """Damage a valid fake folder in one of the ways the foundation issue lists."""
    images, labels = folder / data.FILES["x_train"], folder / data.FILES["y_test"]
    if kind == "empty file":
        images.write_bytes(b"")
    elif kind == "truncated images":
        images.write_bytes(gzip.compress(idx_bytes(data.IMAGES_MAGIC, np.zeros((60000, 28, 28)))[:-5000]))
    elif kind == "label 10":
        labels.write_bytes(gzip.compress(idx_bytes(data.LABELS_MAGIC, np.full(10000, 10))))
    elif kind == "wrong magic":
        labels.write_bytes(gzip.compress(idx_bytes(1234, np.zeros(10000))))
    elif kind == "missing folder":
        return folder / "no-such-folder"
    return folder


@pytest.mark.parametrize("kind", ["empty file", "truncated images", "label 10", "wrong magic", "missing folder"])
def test_damaged_data_shows_a_message_not_a_traceback(fake_folder, monkeypatch, kind):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(_damaged(fake_folder, kind)))
    data.load_fashion_mnist.cache_clear()
    try:
        errors = " ".join(error.value for error in open_page("app.py").sidebar.error)
        assert "Fashion-MNIST unavailable" in errors and "dataset-fashion-mnist" in errors
    finally:
        monkeypatch.delenv("FASHION_MNIST_DIR")
        data.load_fashion_mnist.cache_clear()


def test_the_guard_stops_streamlit_resetting_keras_state():
    """Streamlit's after-run clear_session() would reset Keras for every thread, trainings included."""
    import keras
    from keras.src.backend.common import global_state

    open_page("app.py")  # the frame installs the guard for the process
    keras.utils.set_random_seed(1234)
    script_runner._clean_problem_modules()  # what Streamlit calls after every script run
    assert global_state.get_global_attribute("global_random_seed") == 1234
