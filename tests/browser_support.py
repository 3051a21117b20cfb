"""Browser-test plumbing: the real server on a free loopback port, headless Chromium, waiting for a rerun.

Fixtures live in conftest.py (server_url, browser, page); page-specific browser tests import
`wait_for_idle`, `goto` and `screenshot` from here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]
EXCEPTION = '[data-testid="stException"]'
# Streamlit marks its app root with the script's run state; unlike the toolbar's running indicator, the mark
# does not depend on client.toolbarMode.
RUNNING = '[data-testid="stApp"]:is([data-test-script-state="running"], [data-test-script-state="rerunRequested"])'


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright's own browser download cannot work without internet)."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on loopback; returns once the health endpoint answers."""
    port = free_port()
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],  # file watching as .streamlit/config.toml sets it
        cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise RuntimeError(f"streamlit did not answer on {url} within 90 s; see {log_path}")


# Lines a healthy server never logs: the file watcher's rescans of the project folder (.venv included).
LOG_PROBLEMS = ("Inotify queue overflowed",)


def log_problems(log_path: Path) -> list[str]:
    """The server log's lines that name one of LOG_PROBLEMS (none when the file watcher is set up right)."""
    text = Path(log_path).read_text(errors="replace") if Path(log_path).exists() else ""
    return [line for line in text.splitlines() if any(problem in line for problem in LOG_PROBLEMS)]


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def wait_for_idle(page, timeout_s: float = 120) -> None:
    """Wait until the app has drawn and no script run is in progress (stable for a moment)."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet_checks = 0
    while time.monotonic() < deadline:
        running = page.locator(RUNNING).count() > 0
        loading = page.locator('[data-testid="stSkeleton"]').count() > 0
        quiet_checks = 0 if (running or loading) else quiet_checks + 1
        if quiet_checks >= 4:
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"the app was still running after {timeout_s} s")


def goto(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_for_idle(page)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def train_and_wait(page, url: str, button, done: str, failed: str, timeout_ms: int, shot: str) -> None:
    """Open `url`, press the Train button `button` (a name or pattern) unless the server's store already holds the
    runs (another test in the same session may have trained them), wait for the text `done` or `failed`, then
    check that neither the failure message nor an exception is on the page. The screenshot `shot` is taken even
    when the wait times out, so a failed run leaves a picture of where it stopped."""
    goto(page, url)
    assert page.locator(EXCEPTION).count() == 0
    train = page.get_by_role("button", name=button)
    if train.count():
        train.click()
    try:
        page.get_by_text(done).or_(page.get_by_text(failed)).first.wait_for(timeout=timeout_ms)
    finally:
        screenshot(page, shot)
    wait_for_idle(page)
    assert page.get_by_text(failed).count() == 0, page.get_by_text(failed).first.inner_text()
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
