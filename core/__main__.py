"""Command line: `python -m core <command> ...`, the lab's experiments without a browser (see core.cli)."""

import sys

from core.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
