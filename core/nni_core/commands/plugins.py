"""``nni-core plugins``: which plugins are loaded, what they provide, and which failed."""

from __future__ import annotations

import argparse
import json

from nni_core.hookspecs import hookimpl


@hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins", help="list installed plugins as JSON",
        description="Print the installed plugins as JSON: name, distribution, version, hooks, "
                    "platforms, algorithms and managers they provide. Plugins that failed to "
                    "load are reported on stderr.",
    )
    parser.add_argument("--all", action="store_true", help="include the built-in plugins")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from nni_core.plugins import get_plugins

    plugins = get_plugins()
    print(json.dumps(plugins.describe(include_builtins=args.all), indent=2))
    return 0
