"""Screenshots of every page for review (not a test): `python -m tests.page_screenshots OUT_DIR [--url URL]`.

For each page of ui.registry and each projector size, the first screen as it loads (`first-WxH`); then, at
1280 wide, the whole page after pressing every training button on it (`trained-1280`), so every figure is drawn.
Without --url it starts its own server (tiny preset, a throw-away data folder). PNGs are reduced to a 256-colour
palette, which keeps them small without blurring text.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from PIL import Image

from tests.browser_support import CHROMIUM_FLAGS, chromium_path, start_server, stop_server, wait_for_idle
from ui.registry import ALL_PAGES

SIZES = ((1280, 720), (1920, 1080))
TRAIN_BUTTONS = '[class*="_train"] button'  # ui.jobs.training_ui's buttons: key "{section}_train"
PROGRESS = '[data-testid="stProgress"]'
SKIPPED_BUTTONS = ("tl_pairs_train",)  # 45 pairs take minutes even on the tiny preset
LOAD_TIMEOUT_S = 600  # a page's first load imports TensorFlow: minutes on a busy 2-core machine


def _small_png(path: Path) -> None:
    image = Image.open(path).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def _wait_for_jobs(page, timeout_s: float = 900) -> None:
    """Until no job's progress bar has been on screen for three seconds in a row."""
    deadline, quiet = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline and quiet < 6:
        quiet = 0 if page.locator(PROGRESS).count() else quiet + 1
        page.wait_for_timeout(500)
    wait_for_idle(page)


def _press_every_training_button(page) -> None:
    pressed = set()
    while True:
        keys = [key for key in page.locator('[class*="_train"]').evaluate_all(
            "nodes => nodes.map(node => [...node.classList].find(c => c.startsWith('st-key-')))")
            if key and key.endswith("_train") and key.removeprefix("st-key-") not in pressed | set(SKIPPED_BUTTONS)]
        if not keys:
            return
        key = keys[0]
        pressed = pressed | {key.removeprefix("st-key-")}
        button = page.locator(f".{key} button")
        if button.count() and button.first.is_enabled():
            button.first.click()
            page.wait_for_timeout(1500)
            _wait_for_jobs(page)


def _whole_page(page, path: Path) -> None:
    """Streamlit scrolls its main area, not the document: grow the window to the content's height, then shoot."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(int(height) + 40, 16_000)})
    page.wait_for_timeout(2500)  # plotly redraws at the new size
    wait_for_idle(page)
    page.screenshot(path=str(path))


def take(out: Path, url: str, *, first: bool = True, trained: bool = True) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)
        for width, height in SIZES if first else ():
            context = browser.new_context(viewport={"width": width, "height": height})
            tab = context.new_page()
            for info in ALL_PAGES:
                tab.goto(f"{url}/{info.url_path}", wait_until="domcontentloaded")
                wait_for_idle(tab, timeout_s=LOAD_TIMEOUT_S)
                tab.wait_for_timeout(1000)  # plotly's first draw
                path = out / f"{info.url_path or 'Home'}-first-{width}x{height}.png"
                tab.screenshot(path=str(path))
                written.append(path)
            context.close()
        context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
        tab = context.new_page()
        for info in ALL_PAGES if trained else ():
            tab.goto(f"{url}/{info.url_path}", wait_until="domcontentloaded")
            wait_for_idle(tab, timeout_s=LOAD_TIMEOUT_S)
            _press_every_training_button(tab)
            tab.wait_for_timeout(1000)
            path = out / f"{info.url_path or 'Home'}-trained-{SIZES[0][0]}.png"
            _whole_page(tab, path)
            tab.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
            written.append(path)
        context.close()
        browser.close()
    for path in written:
        _small_png(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--url", help="a running server; default: start one (tiny preset)")
    parser.add_argument("--only", choices=("first", "trained"),
                        help="only the first screens, or only the trained pages")
    arguments = parser.parse_args()
    which = dict(first=arguments.only != "trained", trained=arguments.only != "first")
    if arguments.url:
        paths = take(arguments.out, arguments.url, **which)
    else:
        os.environ["LAB_PRESET"] = "tiny"
        os.environ.setdefault("LAB_DATA_DIR", tempfile.mkdtemp(prefix="lab-screenshots-"))
        process, url = start_server(Path(tempfile.mkdtemp()) / "streamlit.log")
        try:
            paths = take(arguments.out, url, **which)
        finally:
            stop_server(process)
    for path in paths:
        print(f"{path}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
