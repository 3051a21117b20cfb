"""Keep Streamlit from resetting Keras's global state under trainings that are still running.

After every script run (fragment polls included) Streamlit calls `keras.backend.clear_session()`.
In Keras 3 that replaces the thread-local state objects of *every* thread, so a model being built
in another session's script or in core.jobs' worker gets two layers named "dense" (ValueError),
or draws initial weights after its seed was wiped (silently irreproducible). The lab's core code
builds every model from an explicit seed and keeps no Keras session state between reruns, so the
reset buys nothing here: only its matplotlib part is kept. (Relies on Streamlit 1.67's private
`_clean_problem_modules`, pinned in requirements.txt; tests/test_layering.py checks it is installed.)
"""

from __future__ import annotations

import sys

from streamlit.runtime.scriptrunner import script_runner


def _close_matplotlib_only() -> None:
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


# Called by ui.frame at the top of every page: whichever page a fresh server serves first installs it.
def keep_keras_state_across_reruns() -> None:
    script_runner._clean_problem_modules = _close_matplotlib_only
