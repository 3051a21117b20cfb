"""Fashion-MNIST: find a local copy, parse and validate its IDX files, make the book's splits.

Sources are tried in the order DESIGN.md gives: the folder named by
``FASHION_MNIST_DIR``, the Debian package folder, the Keras cache, and last the
Keras downloader. A file that is present but damaged is an error, never a reason
to try the next source: a silent fallback would hide the damage.
"""

from __future__ import annotations

import functools
import gzip
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_CACHE_DIR = Path("~/.keras/datasets/fashion-mnist").expanduser()
FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
EXPECTED_COUNT = {"x_train": 60_000, "y_train": 60_000, "x_test": 10_000, "y_test": 10_000}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
HOW_TO_GET = (
    "To get the data: `sudo apt install dataset-fashion-mnist` (Debian/Ubuntu), "
    "or point FASHION_MNIST_DIR at a folder holding the four *-ubyte.gz files, "
    "or give the machine internet access so Keras can download them."
)
N_VALIDATION = 5_000  # the book's validation set: the first 5,000 training images


class DataError(ValueError):
    """Fashion-MNIST is missing or damaged; the message names the file and the fix."""


@dataclass(frozen=True)
class FashionMNIST:
    x_train: np.ndarray  # (60000, 28, 28) uint8
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8
    source: str  # where the files were found


@dataclass(frozen=True)
class BookSplits:
    x_train: np.ndarray  # (55000, 28, 28) float32 in [0, 1]
    y_train: np.ndarray  # (55000,) uint8
    x_valid: np.ndarray  # (5000, 28, 28)
    y_valid: np.ndarray  # (5000,)
    x_test: np.ndarray  # (10000, 28, 28)
    y_test: np.ndarray  # (10000,)


def _fail(path: Path, problem: str) -> DataError:
    return DataError(f"Fashion-MNIST file {path}: {problem}. {HOW_TO_GET}")


def read_idx(path: Path, expected_magic: int, expected_count: int) -> np.ndarray:
    """Parse one gzip'd IDX file into a uint8 array, checking every header field."""
    try:
        raw = gzip.decompress(Path(path).read_bytes())
    except FileNotFoundError:
        raise _fail(path, "not found") from None
    except (OSError, EOFError, zlib.error) as error:
        raise _fail(path, f"not a readable gzip file ({error})") from None
    header = 8 if expected_magic == LABELS_MAGIC else 16
    if len(raw) < header:
        raise _fail(path, f"only {len(raw)} bytes after decompression, too short for an IDX header")
    magic, count = np.frombuffer(raw[:8], dtype=">u4")
    if magic != expected_magic:
        raise _fail(path, f"magic number {magic}, expected {expected_magic}")
    if count != expected_count:
        raise _fail(path, f"holds {count} items, expected {expected_count}")
    shape = (count,) if expected_magic == LABELS_MAGIC else (count, 28, 28)
    if expected_magic == IMAGES_MAGIC:
        rows, cols = np.frombuffer(raw[8:16], dtype=">u4")
        if (rows, cols) != (28, 28):
            raise _fail(path, f"images are {rows}x{cols}, expected 28x28")
    body = raw[header:]
    if len(body) != int(np.prod(shape)):
        raise _fail(path, f"{len(body)} data bytes, expected {int(np.prod(shape))} (truncated or padded)")
    array = np.frombuffer(body, dtype=np.uint8).reshape(shape)
    if expected_magic == LABELS_MAGIC and array.max(initial=0) > 9:
        raise _fail(path, f"label {array.max()} found, labels must be 0..9")
    return array


def load_from_folder(folder: Path | str) -> FashionMNIST:
    """Load and validate the four files of one folder (no caching, no fallback)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"Fashion-MNIST folder {folder} does not exist. {HOW_TO_GET}")
    arrays = {}
    for name, filename in FILES.items():
        magic = IMAGES_MAGIC if name.startswith("x") else LABELS_MAGIC
        arrays[name] = read_idx(folder / filename, magic, EXPECTED_COUNT[name])
    return FashionMNIST(**arrays, source=str(folder))


def _has_all_files(folder: Path) -> bool:
    return all((folder / filename).exists() for filename in FILES.values())


def candidate_folders() -> list[Path]:
    """Local folders in the order they are tried; FASHION_MNIST_DIR, when set, is the only one."""
    named = os.environ.get("FASHION_MNIST_DIR")
    if named:
        return [Path(named).expanduser()]
    return [DEBIAN_DIR, KERAS_CACHE_DIR]


def _download_with_keras() -> FashionMNIST:
    try:
        import keras  # lazy: costs seconds, only needed when no local copy exists

        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as error:  # network errors come in many types
        searched = ", ".join(str(folder) for folder in candidate_folders())
        raise DataError(
            f"Fashion-MNIST not found in {searched}, and the Keras download failed ({error}). {HOW_TO_GET}"
        ) from None
    return FashionMNIST(x_train, y_train, x_test, y_test, source="downloaded by Keras")


def find_and_load(*, allow_download: bool = True) -> FashionMNIST:
    """Try every source in order, without caching; an explicit FASHION_MNIST_DIR is never skipped."""
    folders = candidate_folders()
    if os.environ.get("FASHION_MNIST_DIR"):
        return load_from_folder(folders[0])
    for folder in folders:
        if _has_all_files(folder):
            return load_from_folder(folder)
    if not allow_download:
        searched = ", ".join(str(folder) for folder in folders)
        raise DataError(f"Fashion-MNIST not found in {searched}. {HOW_TO_GET}")
    return _download_with_keras()


def _once_per_process(function):
    """`functools.lru_cache(maxsize=1)` whose first call runs once even when many threads ask at the same moment.

    lru_cache alone lets every caller that arrives before the first call returns compute it too: a class of
    thirty sessions opening the lab at once would parse the data set thirty times at once (bench/classroom_load
    found this). Here later callers wait for the first one; an exception is not cached, so a fix is seen."""
    cached = functools.lru_cache(maxsize=1)(function)
    lock = threading.Lock()

    @functools.wraps(function)
    def once():
        with lock:
            return cached()

    once.cache_clear = cached.cache_clear
    return once


@_once_per_process
def load_fashion_mnist() -> FashionMNIST:
    """The data set, loaded once per process (a failure is not cached, so a fix is seen on retry)."""
    return find_and_load()


def book_splits(data: FashionMNIST) -> BookSplits:
    """Pixels / 255 as float32; the first 5,000 training images become the validation set."""
    x_train = data.x_train.astype(np.float32) / 255.0
    x_test = data.x_test.astype(np.float32) / 255.0
    return BookSplits(
        x_train=x_train[N_VALIDATION:], y_train=data.y_train[N_VALIDATION:],
        x_valid=x_train[:N_VALIDATION], y_valid=data.y_train[:N_VALIDATION],
        x_test=x_test, y_test=data.y_test,
    )


@_once_per_process
def load_book_splits() -> BookSplits:
    """The book's splits of the cached data set, computed once per process."""
    return book_splits(load_fashion_mnist())


def check_class_pair(b_classes) -> tuple[int, int]:
    """Validate a task-B pair: two distinct integer classes in 0..9."""
    try:
        negative, positive = (int(c) for c in b_classes)
    except (TypeError, ValueError):
        raise ValueError(f"Task B needs a pair of two class numbers, got {b_classes!r}.") from None
    if not (0 <= negative <= 9 and 0 <= positive <= 9):
        raise ValueError(f"Task B classes must be between 0 and 9, got {negative} and {positive}.")
    if negative == positive:
        raise ValueError(f"Task B needs two different classes; got {CLASS_NAMES[negative]} twice.")
    return negative, positive


def split_task_a_b(x: np.ndarray, y: np.ndarray, b_classes=(5, 6)):
    """Task A: the 8 other classes relabelled 0..7 in order; task B: b_classes[1] -> 1, b_classes[0] -> 0.

    Returns ((x_a, y_a), (x_b, y_b)), with y_a uint8 in 0..7 and y_b float32 in {0, 1}.
    """
    negative, positive = check_class_pair(b_classes)
    in_b = (y == negative) | (y == positive)
    kept = np.array([c for c in range(10) if c not in (negative, positive)])
    relabel = np.full(10, 255, dtype=np.uint8)
    relabel[kept] = np.arange(8, dtype=np.uint8)
    y_a = relabel[y[~in_b]]
    y_b = (y[in_b] == positive).astype(np.float32)
    return (x[~in_b], y_a), (x[in_b], y_b)
