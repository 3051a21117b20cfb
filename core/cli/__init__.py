"""Command line: `python -m core <command> ...`, the lab's experiments without a browser. build_parser puts every
command's parser together; main runs the chosen command."""

from __future__ import annotations

import argparse

from core.cli.lab_commands import add_classroom_parser, add_data_parser, add_results_parser
from core.cli.pretraining_commands import add_auxiliary_parser, add_pretrain_parser
from core.cli.transfer_commands import add_reuse_parser, add_transfer_parser

DESCRIPTION = "Command line: `python -m core <command> ...`, the lab's experiments without a browser."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (add_data_parser, add_transfer_parser, add_auxiliary_parser, add_results_parser, add_classroom_parser,
                add_pretrain_parser, add_reuse_parser):
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
