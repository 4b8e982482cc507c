"""The ``nni-core`` command line: a thin layer over the library.

Sub-commands come from ``register_commands`` hooks, the core's own included (see
``nni_core.default_plugins``). Every error that reaches ``main`` as an ``NniCoreError`` is printed
as one line on stderr with its exit status; nothing else escapes as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from nni_core import __version__
from nni_core.errors import EXIT_RUNTIME, NniCoreError


def build_parser() -> argparse.ArgumentParser:
    from nni_core.plugins import get_plugins

    parser = argparse.ArgumentParser(
        prog="nni-core",
        description="Run NNI experiment configs: launch, watch, stop, resume and export experiments.",
    )
    parser.add_argument("--version", action="version", version=f"nni-core {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    plugins = get_plugins()
    plugins.hook.register_commands(subparsers=subparsers)
    for problem in plugins.problems():  # every command says so; none is blocked by it
        print(f"nni-core: warning: {problem}", file=sys.stderr)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help()
            return 2
        return int(handler(args) or 0)
    except NniCoreError as error:
        print(f"nni-core: error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("nni-core: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
