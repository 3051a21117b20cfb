"""The list of pages app.py serves; tests read the same list, so every new page is tested automatically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PageInfo:
    path: str  # script path relative to the project root
    title: str  # shown in the navigation menu
    icon: str  # a Material icon name, e.g. ":material/tune:"
    url_path: str  # the page's address, e.g. "batch-norm" for /batch-norm
    teaches: str  # one sentence for the home page

    def __post_init__(self):
        # Streamlit starts in its legacy "pages/ folder" mode until app.py has called st.navigation once;
        # in that mode a first request for /<file stem> runs the page file alone, skipping app.py.
        # An address that is not a file stem always falls through to app.py, so it is required here.
        if self.url_path and self.url_path == Path(self.path).stem:
            raise ValueError(f"url_path {self.url_path!r} must differ from the file name of {self.path}.")


HOME = PageInfo("pages/home.py", "Home", ":material/home:", "", "What this lab is for and where to start.")

# Concept pages, in teaching order. A page is listed here only once it exists.
PAGES: tuple[PageInfo, ...] = (
    PageInfo("pages/batchnorm.py", "Batch Normalization", ":material/equalizer:", "batch-norm",
             "Momentum, axis, parameters and training vs inference, each checked against a real Keras layer."),
    PageInfo("pages/bn_training.py", "BN in training", ":material/trending_up:", "bn-training",
             "Does BN rescue deep sigmoid/tanh nets, widen the usable learning rates, and pay for its slower epochs?"),
    PageInfo("pages/clipping.py", "Gradient clipping", ":material/content_cut:", "gradient-clipping",
             "Clip by value or by norm: how each changes the gradient, what Keras 3 really does, and the effect on training."),

    PageInfo("pages/transfer.py", "Transfer learning", ":material/swap_horiz:", "transfer-learning",
             "The book's transfer experiment, then the same comparison over many seeds with honest statistics."),
)

ALL_PAGES: tuple[PageInfo, ...] = (HOME, *PAGES)
