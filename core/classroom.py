"""Classroom mode: one server for a class, the teacher's key for expensive runs, the address students open.

- `LAB_TEACHER_KEY` set: runs whose estimated cost (core.cost) is above the limit need that key.
  `LAB_COST_LIMIT` sets the limit in image-epoch-parameters (default `DEFAULT_COST_LIMIT`, about one
  full-size model A and thirty seeds of task B). Unset: nothing is locked (a student alone on a laptop).
- `is_teacher_key(typed)` compares SHA-256 digests with `hmac.compare_digest`: constant time, whatever
  the lengths. The key itself is never stored elsewhere, printed, or put in a URL by the lab.
- `server_command(port)` is what `make classroom` (through `python -m core classroom`) and
  bench/classroom_load.py start: every interface, no file watching, no run-on-save, XSRF protection on,
  no uploads, a toolbar without developer options, no garbage collection after every run.
  `lan_address()` is the address to give students.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COST_LIMIT = 5e11  # image-epoch-parameters; model A (2.5e11) + 20 seeds (1.3e11) of the book fits
DEFAULT_PORT = 8502  # `make run` keeps 8501, so both can run side by side

# Streamlit settings of a shared server (`streamlit run --help` and `streamlit config show` name them).
CLASSROOM_SETTINGS = {
    "server.address": "0.0.0.0",  # every interface: the class connects over the LAN
    "server.headless": "true",  # never try to open a browser on the server
    "server.fileWatcherType": "none",  # no file watching: no rescans stealing CPU from trainings
    "server.runOnSave": "false",  # code on disk never reruns the class's sessions
    "server.enableXsrfProtection": "true",  # (Streamlit's default, stated so a config file cannot turn it off)
    "server.maxUploadSize": "0",  # no uploads: the lab has no uploader, and the upload route takes 0 bytes
    "client.toolbarMode": "viewer",  # no developer options (rerun, clear cache, settings) for students
    # No full garbage collection after every run: with TensorFlow loaded, gc.collect(2) holds the GIL ~0.4 s, and
    # a class (plus the training panels' polls) reruns several times a second (bench/classroom_load measured it).
    "runner.postScriptGC": "false",
    "browser.gatherUsageStats": "false",
}


def teacher_key() -> Optional[str]:
    """The configured key, or None when classroom locking is off (unset or empty)."""
    return os.environ.get("LAB_TEACHER_KEY") or None


def locking_enabled() -> bool:
    return teacher_key() is not None


def is_teacher_key(typed: str) -> bool:
    """True if `typed` is the teacher's key. Digests of equal length are compared in constant time, so the
    time taken says nothing about the key or its length. False when no key is configured."""
    key = teacher_key()
    if key is None or not isinstance(typed, str):
        return False
    return hmac.compare_digest(hashlib.sha256(typed.encode()).digest(), hashlib.sha256(key.encode()).digest())


def cost_limit() -> float:
    """The cost above which a run needs the teacher's key (`LAB_COST_LIMIT`, else the default)."""
    configured = os.environ.get("LAB_COST_LIMIT")
    if not configured:
        return DEFAULT_COST_LIMIT
    try:
        limit = float(configured)
    except ValueError:
        raise ValueError(f"LAB_COST_LIMIT must be a number of image-epoch-parameters like 5e11, "
                         f"not {configured!r}.") from None
    if not limit >= 0:
        raise ValueError(f"LAB_COST_LIMIT must be 0 or more, not {configured!r}.")
    return limit


def needs_teacher(cost: Optional[float]) -> bool:
    """Whether a run of this estimated cost needs the key: only when locking is on, and then for costs above
    the limit and for runs whose cost nobody estimated (None)."""
    if not locking_enabled():
        return False
    return cost is None or cost > cost_limit()


def lan_address() -> str:
    """This machine's address on its local network (the interface its default route uses), or 127.0.0.1
    without a network. Connecting a UDP socket sends no packet; it only picks the interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, any default route will do
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def student_url(port: int) -> str:
    return f"http://{lan_address()}:{port}"


def server_command(port: int, *, python: str = sys.executable, settings: Optional[dict] = None) -> list[str]:
    """`python -m streamlit run app.py` with the classroom settings (overridden by `settings`) on `port`."""
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"A port is a whole number from 1 to 65535, not {port}.")
    chosen = {**CLASSROOM_SETTINGS, "server.port": str(int(port)), **(settings or {})}
    flags = [part for name, value in chosen.items() for part in (f"--{name}", value)]
    return [python, "-m", "streamlit", "run", str(ROOT / "app.py"), *flags]
