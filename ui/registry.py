"""The list of pages app.py serves; tests read the same list, so every new page is tested automatically.

Page scripts live in app_pages/, not pages/: Streamlit treats a folder named pages/ beside the entry
script as an old-style multipage app until app.py has called st.navigation once, so on a fresh server
the first visitor of a page's address got that page without app.py (no sidebar panel, a wrong menu)
or a "Page not found" dialog. One navigation mechanism means no pages/ folder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str  # script path relative to the project root
    title: str  # shown in the navigation menu
    icon: str  # a Material icon name, e.g. ":material/tune:"
    url_path: str  # the page's address, e.g. "batch-norm" for /batch-norm
    teaches: str  # one sentence for the home page


HOME = PageInfo("app_pages/home.py", "Home", ":material/home:", "", "What this lab is for and where to start.")

# Concept pages, in teaching order. A page is listed here only once it exists.
PAGES: tuple[PageInfo, ...] = (
    PageInfo("app_pages/batchnorm.py", "Batch Normalization", ":material/equalizer:", "batch-norm",
             "Momentum, axis, parameters and training vs inference, each checked against a real Keras layer."),
    PageInfo("app_pages/bn_training.py", "BN in training", ":material/trending_up:", "bn-training",
             "Does BN rescue deep sigmoid/tanh nets, widen the usable learning rates, and pay for its slower epochs?"),
    PageInfo("app_pages/clipping.py", "Gradient clipping", ":material/content_cut:", "gradient-clipping",
             "Clip by value or by norm: how each changes the gradient, what Keras 3 really does, and the effect on training."),

    PageInfo("app_pages/transfer.py", "Transfer learning", ":material/swap_horiz:", "transfer-learning",
             "The book's transfer experiment, then the same comparison over many seeds with honest statistics."),
)

ALL_PAGES: tuple[PageInfo, ...] = (HOME, *PAGES)
