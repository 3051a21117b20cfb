"""core.data: real data when present, and every kind of damage on tiny files written here."""

import gzip

import numpy as np
import pytest

from core import data
from tests.conftest import idx_bytes as _idx_bytes


def test_fake_folder_loads(fake_folder):
    loaded = data.load_from_folder(fake_folder)
    assert loaded.x_train.shape == (60000, 28, 28) and loaded.x_train.dtype == np.uint8
    assert loaded.y_test.shape == (10000,) and loaded.y_test.max() == 9
    assert loaded.source == str(fake_folder)


def _damage_and_expect(folder, filename, payload, *fragments):
    (folder / filename).write_bytes(payload)
    with pytest.raises(data.DataError) as caught:
        data.load_from_folder(folder)
    message = str(caught.value)
    assert filename in message and "apt install dataset-fashion-mnist" in message
    for fragment in fragments:
        assert fragment in message


def test_empty_file(fake_folder):
    _damage_and_expect(fake_folder, data.FILES["x_test"], b"", "too short")


def test_not_gzip(fake_folder):
    _damage_and_expect(fake_folder, data.FILES["y_test"], b"this is not gzip", "gzip")


def test_truncated_gzip_stream(fake_folder):
    whole = (fake_folder / data.FILES["y_train"]).read_bytes()
    _damage_and_expect(fake_folder, data.FILES["y_train"], whole[: len(whole) // 2], "gzip")


def test_truncated_images(fake_folder):
    payload = _idx_bytes(data.IMAGES_MAGIC, np.zeros((60000, 28, 28)))[:-784]
    _damage_and_expect(fake_folder, data.FILES["x_train"], gzip.compress(payload), "truncated")


def test_label_out_of_range(fake_folder):
    labels = np.arange(10000) % 10
    labels[123] = 10
    _damage_and_expect(fake_folder, data.FILES["y_test"],
                       gzip.compress(_idx_bytes(data.LABELS_MAGIC, labels)), "label 10")


def test_wrong_magic(fake_folder):
    payload = _idx_bytes(data.LABELS_MAGIC, np.zeros((10000, 28, 28)))  # images file with a labels magic
    _damage_and_expect(fake_folder, data.FILES["x_test"], gzip.compress(payload), "magic number 2049")


def test_wrong_count(fake_folder):
    payload = _idx_bytes(data.LABELS_MAGIC, np.zeros(999))
    _damage_and_expect(fake_folder, data.FILES["y_test"], gzip.compress(payload), "999 items")


def test_wrong_image_size(fake_folder):
    payload = _idx_bytes(data.IMAGES_MAGIC, np.zeros((10000, 27, 29)))
    _damage_and_expect(fake_folder, data.FILES["x_test"], gzip.compress(payload), "27x29")


def test_missing_file(fake_folder):
    (fake_folder / data.FILES["y_train"]).unlink()
    with pytest.raises(data.DataError, match="not found"):
        data.load_from_folder(fake_folder)


def test_missing_folder_named_by_env_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(data.DataError, match="does not exist"):
        data.find_and_load()


def test_env_folder_comes_first(fake_folder, monkeypatch):
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fake_folder))
    assert data.find_and_load().source == str(fake_folder)


def test_nothing_found_without_download(tmp_path, monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "a")
    monkeypatch.setattr(data, "KERAS_CACHE_DIR", tmp_path / "b")
    with pytest.raises(data.DataError, match="not found in"):
        data.find_and_load(allow_download=False)


def test_data_error_is_a_value_error():
    assert issubclass(data.DataError, ValueError)


def test_real_data_shapes_and_source(fashion_mnist):
    assert fashion_mnist.x_train.shape == (60000, 28, 28) and fashion_mnist.x_train.dtype == np.uint8
    assert fashion_mnist.y_train.shape == (60000,) and fashion_mnist.x_test.shape == (10000, 28, 28)
    assert set(np.unique(fashion_mnist.y_test)) == set(range(10))
    assert fashion_mnist.source
    assert data.load_fashion_mnist() is data.load_fashion_mnist()  # loaded once per process


def test_book_splits(fashion_mnist):
    splits = data.book_splits(fashion_mnist)
    assert splits.x_train.shape == (55000, 28, 28) and splits.x_valid.shape == (5000, 28, 28)
    assert splits.x_train.dtype == np.float32 and 0.0 <= splits.x_train.min() and splits.x_train.max() <= 1.0
    np.testing.assert_array_equal(splits.x_valid[0], fashion_mnist.x_train[0] / np.float32(255))
    np.testing.assert_array_equal(splits.y_train, fashion_mnist.y_train[5000:])


def test_book_task_a_has_43986_images(fashion_mnist):
    splits = data.book_splits(fashion_mnist)
    (x_a, y_a), (x_b, y_b) = data.split_task_a_b(splits.x_train, splits.y_train)
    assert len(x_a) == 43986 and len(x_a) + len(x_b) == 55000
    assert set(np.unique(y_a)) == set(range(8))
    shirts = splits.y_train[(splits.y_train == 5) | (splits.y_train == 6)] == 6
    np.testing.assert_array_equal(y_b, shirts.astype(np.float32))


def test_task_split_relabels_in_order():
    y = np.arange(10, dtype=np.uint8)
    x = np.arange(10)[:, None]
    (x_a, y_a), (x_b, y_b) = data.split_task_a_b(x, y, b_classes=(2, 7))
    np.testing.assert_array_equal(x_a[:, 0], [0, 1, 3, 4, 5, 6, 8, 9])
    np.testing.assert_array_equal(y_a, np.arange(8))
    np.testing.assert_array_equal(x_b[:, 0], [2, 7])
    np.testing.assert_array_equal(y_b, [0.0, 1.0])


@pytest.mark.parametrize("pair", [(5, 5), (0, 10), (-1, 3), (1,), "ab", None])
def test_bad_class_pairs(pair):
    with pytest.raises(ValueError):
        data.split_task_a_b(np.zeros((3, 1)), np.zeros(3, dtype=np.uint8), b_classes=pair)


def test_class_names():
    assert len(data.CLASS_NAMES) == 10 and data.CLASS_NAMES[5] == "Sandal" and data.CLASS_NAMES[6] == "Shirt"


def test_callers_arriving_together_load_the_data_once_and_a_failure_is_not_kept(monkeypatch):
    """A class opening the lab at once: eight threads ask before the first load returns; one load serves all."""
    import threading
    import time

    calls, loaded = [], object()

    def slow_load():
        calls.append(threading.get_ident())
        time.sleep(0.2)  # every other caller arrives while this one is still loading
        if len(calls) == 1:
            raise data.DataError("the first attempt fails")
        return loaded

    monkeypatch.setattr(data, "find_and_load", slow_load)
    data.load_fashion_mnist.cache_clear()
    try:
        with pytest.raises(data.DataError, match="first attempt"):
            data.load_fashion_mnist()
        got = []
        threads = [threading.Thread(target=lambda: got.append(data.load_fashion_mnist())) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(calls) == 2 and got == [loaded] * 8  # the failure was retried once, then shared by all
    finally:
        data.load_fashion_mnist.cache_clear()  # the next caller loads the real data set
