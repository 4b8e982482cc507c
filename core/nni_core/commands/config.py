"""``nni-core validate`` and ``nni-core convert``: check a config, print its canonical or v2 form.

``validate CONFIG`` exits 0 with a one-line summary, or 2 with one line per problem
(``path.to.field: what is wrong (got X; expected Y)``); warnings go to stderr. ``--canonical``
prints what NNI 3.0's ``ExperimentConfig.json()`` would give (the validated v1 dict for a config
its platform keeps as v1). ``convert V1CONFIG`` prints the v2 YAML of a v1 config.
"""

from __future__ import annotations

import argparse
import json
import sys

from nni_core.errors import EXIT_USAGE
from nni_core.hookspecs import hookimpl


@hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser(
        "validate", help="check an experiment config (v2 or v1)",
        description="Check an NNI experiment config (v2, or v1 which is converted) and report every "
                    "problem, one per line. Exit status 0: valid; 2: not valid.",
    )
    validate.add_argument("config", metavar="CONFIG", help="the config file (YAML)")
    validate.add_argument("--canonical", action="store_true",
                          help="print the canonical config as JSON (NNI 3.0's ExperimentConfig.json() form)")
    validate.set_defaults(handler=run_validate)

    convert = subparsers.add_parser(
        "convert", help="print the v2 form of a v1 config",
        description="Convert an NNI v1 config (trainingServicePlatform: ...) to v2 and print it as YAML. "
                    "Fields without a v2 equivalent are named on stderr.",
    )
    convert.add_argument("config", metavar="V1CONFIG", help="the v1 config file (YAML)")
    convert.set_defaults(handler=run_convert)


def _report(error: object, warnings: list[str]) -> int:
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in error.lines():  # type: ignore[attr-defined]
        print(line, file=sys.stderr)
    return EXIT_USAGE


def run_validate(args: argparse.Namespace) -> int:
    from nni_core.config import ConfigError, load_config

    try:
        loaded = load_config(args.config)
    except ConfigError as error:
        if error.source and not error.problems[0].path:  # the file itself: name it
            print(f"{error.source}: {error.problems[0]}", file=sys.stderr)
            return EXIT_USAGE
        return _report(error, error.warnings)
    for line in loaded.warnings:
        print(f"warning: {line}", file=sys.stderr)
    platforms = ", ".join(loaded.platforms)
    count = len(loaded.warnings)
    summary = (f"{args.config}: valid ({loaded.route}, platform {platforms}"
               f"{f', {count} warning' + ('s' if count != 1 else '') if count else ''})")
    if args.canonical:
        print(json.dumps(loaded.canonical(), indent=2, ensure_ascii=False))
        print(summary, file=sys.stderr)
    else:
        print(summary)
    return 0


def run_convert(args: argparse.Namespace) -> int:
    import yaml

    from nni_core.config import ConfigError, Problems
    from nni_core.config.loader import read_yaml
    from nni_core.config.v1 import to_v2
    from nni_core.errors import UsageError
    from nni_core.plugins import get_plugins

    try:
        content = read_yaml(args.config)
    except ConfigError as error:
        print(f"{error.source}: {error.problems[0]}", file=sys.stderr)
        return EXIT_USAGE
    if not isinstance(content, dict) or not content.get("trainingServicePlatform"):
        raise UsageError(f"{args.config}: not a v1 config (it has no trainingServicePlatform); "
                         "v2 configs need no conversion")
    problems = Problems()
    converted = to_v2(content, get_plugins().platforms, problems)
    if converted is None:
        return _report(ConfigError(problems.items), problems.warnings)
    for line in problems.warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(yaml.safe_dump(converted, sort_keys=False, allow_unicode=True, default_flow_style=False).rstrip())
    return 0
