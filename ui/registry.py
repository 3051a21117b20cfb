"""The lab's pages in menu order: the home page (app.py), then pages/N_Title.py, one per concept.

Streamlit serves the pages/ folder itself: the number orders the pages, the rest of the file name is
the title (underscores read as spaces) and the address (/Batch_Normalization). The menu is drawn by the
page frame from this list (Streamlit's own would call the home page "app"), which adds what a file name
cannot carry: icons and a sentence for the home page. Each page's frame looks its file up here, and
tests/test_pages.py checks that the list names exactly the files in pages/, so the home page and the
tests cannot miss a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HOME_PATH = "app.py"
PAGE_FILE = re.compile(r"^\d+_(?P<name>\w+)\.py$")  # pages/N_Title.py


# One page: its file, and what the home page and the browser tab show for it.
@dataclass(frozen=True)
class PageInfo:
    path: str  # script path relative to the project root: "app.py" or "pages/N_Title.py"
    icon: str  # a Material icon for the menu and the home page's links, e.g. ":material/tune:" (served locally)
    teaches: str  # one sentence for the home page
    tab_icon: str = "🧪"  # an emoji for the browser tab, drawn locally (a Material tab icon comes from the internet)

    @property
    def url_path(self) -> str:
        """The page's address without the leading slash ("" for the home page), as Streamlit derives it."""
        if self.path == HOME_PATH:
            return ""
        match = PAGE_FILE.match(Path(self.path).name)
        if match is None:
            raise ValueError(f"{self.path} is not named like pages/1_Title.py: Streamlit takes order and title "
                             "from the file name.")
        return match["name"]

    @property
    def title(self) -> str:
        """The menu title: the file name after its number, underscores as spaces."""
        return "Home" if self.path == HOME_PATH else self.url_path.replace("_", " ")


HOME = PageInfo(HOME_PATH, ":material/home:", "What this lab is for and where to start.")

# Concept pages, in teaching order (the order of the numbers in their file names).
_CONCEPTS = (  # file name without .py, Material icon, tab emoji, the home page's sentence
    ("1_Batch_Normalization", "equalizer", "📊",
     "Momentum, axis, parameters and training vs inference, each checked against a real Keras layer."),
    ("2_BN_in_Training", "trending_up", "📈",
     "Does BN rescue deep sigmoid/tanh nets, widen the usable learning rates, and pay for its slower epochs?"),
    ("3_Gradient_Clipping", "content_cut", "✂️",
     "Clip by value or by norm: how each changes the gradient, what Keras 3 really does, and the effect on training."),
    ("4_Transfer_Learning", "swap_horiz", "🔁",
     "The book's transfer experiment, then the same comparison over many seeds with honest statistics."),
    ("5_Unsupervised_Pretraining", "layers", "🧱",
     "Autoencoders on unlabeled images, then few labels: does pretraining help as it did in 2006, and at today's "
     "settings?"),
    ("6_Auxiliary_Pretraining", "compare", "🧩",
     "Same-or-different pairs and masked images as pretraining, then every source compared with few labels."),
)
PAGES: tuple[PageInfo, ...] = tuple(PageInfo(f"pages/{stem}.py", f":material/{icon}:", teaches, tab_icon)
                                    for stem, icon, tab_icon, teaches in _CONCEPTS)

ALL_PAGES: tuple[PageInfo, ...] = (HOME, *PAGES)


# The frame's lookup: a page script's own path (its __file__) -> its entry; unlisted pages fail loudly.
def page_for(script: str | Path) -> PageInfo:
    name = Path(script).name
    for info in ALL_PAGES:
        if Path(info.path).name == name:
            return info
    raise ValueError(f"{name} is not listed in ui/registry.py: add it to PAGES with an icon and a sentence "
                     "for the home page.")
