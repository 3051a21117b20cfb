"""The list of pages app.py serves; tests read the same list, so every new page is tested automatically."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str  # script path relative to the project root
    title: str  # shown in the navigation menu
    icon: str  # a Material icon name, e.g. ":material/tune:"
    url_path: str  # the page's address, e.g. "batch-norm" for /batch-norm
    teaches: str  # one sentence for the home page


HOME = PageInfo("pages/home.py", "Home", ":material/home:", "", "What this lab is for and where to start.")

# Concept pages, in teaching order. A page is listed here only once it exists.
PAGES: tuple[PageInfo, ...] = (
    PageInfo("pages/transfer.py", "Transfer learning", ":material/swap_horiz:", "transfer",
             "The book's transfer experiment, then the same comparison over many seeds with honest statistics."),
)

ALL_PAGES: tuple[PageInfo, ...] = (HOME, *PAGES)
