"""Shared test setup: tiny presets everywhere, a throw-away data folder, the project root on sys.path."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Pages and the browser test's server read these: small runs, and results kept out of the user's cache.
os.environ["LAB_PRESET"] = "tiny"
if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs two workers: each its own store (they inherit one env)
    os.environ["LAB_DATA_DIR"] = tempfile.mkdtemp(prefix=f"lab-test-data-{os.environ['PYTEST_XDIST_WORKER']}-")
else:
    os.environ.setdefault("LAB_DATA_DIR", tempfile.mkdtemp(prefix="lab-test-data-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("LAB_RAY_ADDRESS", None)  # the local queue, whatever the shell says; tests/test_cluster.py sets it


@pytest.fixture(scope="session")
def fashion_mnist():
    """The real data set, or a skip naming the fix (CI installs it, so there it is always present)."""
    from core import data

    try:
        return data.load_fashion_mnist()
    except data.DataError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"Fashion-MNIST not available: {error}")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory):
    """The real app served on a free loopback port for the whole session, always stopped afterwards."""
    from tests.browser_support import log_problems, start_server, stop_server

    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    process, url = start_server(log_path)
    yield url
    stop_server(process)
    problems = log_problems(log_path)
    if problems:  # the file watcher rescanned the project (.venv included): see .streamlit/config.toml
        pytest.fail(f"{len(problems)} file-watcher lines in {log_path}, e.g. {problems[0]!r}", pytrace=False)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium via Playwright; skipped (failed under CI=true) when there is none."""
    from tests.browser_support import CHROMIUM_FLAGS, chromium_path

    executable = chromium_path()
    if executable is None:
        reason = "no Chromium found (apt install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    yield tab
    context.close()


def idx_bytes(magic: int, array) -> bytes:
    """An uncompressed IDX file: magic, dimensions, then the uint8 payload."""
    import numpy as np

    header = np.array([magic, *array.shape], dtype=">u4").tobytes()
    return header + np.asarray(array).astype(np.uint8).tobytes()


@pytest.fixture
def fake_folder(tmp_path):
    """A valid, all-black Fashion-MNIST folder with cycling labels; tests damage one file each."""
    import gzip

    import numpy as np

    from core import data

    for name, filename in data.FILES.items():
        count = data.EXPECTED_COUNT[name]
        if name.startswith("x"):
            payload = idx_bytes(data.IMAGES_MAGIC, np.zeros((count, 28, 28)))
        else:
            payload = idx_bytes(data.LABELS_MAGIC, np.arange(count) % 10)
        (tmp_path / filename).write_bytes(gzip.compress(payload, compresslevel=1))
    return tmp_path


@pytest.fixture
def run_cli(capsys, monkeypatch, tmp_path):
    """`python -m core ARGS` in this process with an empty results folder: (exit code, stdout, stderr).

    For argument checks, which need no fresh interpreter: argparse's own exit counts as the code, and any other
    exception fails the test (the command line must answer a bad argument with a message, not a traceback).
    """
    from core.__main__ import main

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exit:
            code = exit.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def results(tmp_path):
    """An empty results store in the test's own folder."""
    from core import store

    return store.Store(tmp_path / "results.sqlite")


@pytest.fixture
def engine_calls(monkeypatch):
    """Count engine.train calls, the only way the transfer code trains anything: (output activation, seeds) each."""
    from core import engine

    calls = []
    original = engine.train

    def counting(config, data, phases, seeds, *args, **kwargs):
        calls.append((config.output_activation, tuple(seeds)))
        return original(config, data, phases, seeds, *args, **kwargs)

    monkeypatch.setattr(engine, "train", counting)
    return calls
