"""Every page registered in ui.registry (so every page app.py serves) renders without an exception."""

import pytest
from streamlit.testing.v1 import AppTest

from core import data
from tests.conftest import ROOT
from ui.registry import ALL_PAGES

APP = str(ROOT / "app.py")


def open_page(path: str, timeout: float = 120) -> AppTest:
    """Run app.py, then switch to one page, as the navigation menu would."""
    app = AppTest.from_file(APP, default_timeout=timeout)
    app.run()
    app.switch_page(path)
    app.run()
    return app


@pytest.mark.parametrize("page", ALL_PAGES, ids=[page.path for page in ALL_PAGES])
def test_page_renders(page):
    app = open_page(page.path)
    assert not app.exception, [exception.message for exception in app.exception]
    assert app.title or app.header or app.markdown, "the page drew nothing"


def test_home_title():
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert app.title[0].value.startswith("Training deep neural networks")


def test_sidebar_shows_data_source(fashion_mnist):
    app = AppTest.from_file(APP, default_timeout=60).run()
    captions = " ".join(caption.value for caption in app.sidebar.caption)
    assert "TensorFlow 2.21" in captions and "Keras 3.15" in captions
    assert f"Fashion-MNIST from `{fashion_mnist.source}`" in captions


def test_sidebar_shows_data_error_instead_of_traceback(tmp_path, monkeypatch):
    (tmp_path / data.FILES["x_train"]).write_bytes(b"")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path))
    data.load_fashion_mnist.cache_clear()
    try:
        app = AppTest.from_file(APP, default_timeout=60).run()
        assert not app.exception
        errors = " ".join(error.value for error in app.sidebar.error)
        assert "Fashion-MNIST unavailable" in errors and "dataset-fashion-mnist" in errors
    finally:
        monkeypatch.delenv("FASHION_MNIST_DIR")
        data.load_fashion_mnist.cache_clear()
