"""Every page registered in ui.registry (so every page app.py serves) renders without an exception."""

import gzip

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import data
from tests.conftest import ROOT, idx_bytes
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
        app = AppTest.from_file(APP, default_timeout=60).run()
        assert not app.exception
        errors = " ".join(error.value for error in app.sidebar.error)
        assert "Fashion-MNIST unavailable" in errors and "dataset-fashion-mnist" in errors
    finally:
        monkeypatch.delenv("FASHION_MNIST_DIR")
        data.load_fashion_mnist.cache_clear()


def test_no_legacy_pages_folder():
    """A pages/ folder beside app.py would switch on Streamlit's automatic page discovery (see ui/registry.py)."""
    assert not (ROOT / "pages").exists()
    assert all(info.path.startswith("app_pages/") for info in ALL_PAGES)


def test_app_stops_streamlit_resetting_keras_state():
    """Streamlit's after-run clear_session() would reset Keras for every thread, trainings included."""
    import keras
    from keras.src.backend.common import global_state
    from streamlit.runtime.scriptrunner import script_runner

    AppTest.from_file(APP, default_timeout=60).run()  # app.py installs the guard for the process
    keras.utils.set_random_seed(1234)
    script_runner._clean_problem_modules()  # what Streamlit calls after every script run
    assert global_state.get_global_attribute("global_random_seed") == 1234
