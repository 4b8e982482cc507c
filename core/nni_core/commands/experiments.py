"""Experiment commands: launch, resume, view, stop, list, show, trials, trial kill, update,
export, import-data, logs, delete.

A thin layer over ``nni_core.launch`` (the embedding API): parse, call, print. Every command
takes ``--json`` for machines and prints a readable table otherwise. Exit status: 0 ok, 2 bad
input (``UsageError``), 1 runtime failure (``LaunchError``). An experiment id may be a unique
prefix, and may be left out while exactly one experiment runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from nni_core.hookspecs import hookimpl

_EPILOG_ID = "ID may be a unique prefix of an experiment id; it may be omitted while one experiment runs."


@hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    def command(name: str, help: str, handler: Any, description: str | None = None) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help, description=description or help, epilog=_EPILOG_ID)
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.set_defaults(handler=handler)
        return parser

    def manager_options(parser: argparse.ArgumentParser, create: bool) -> None:
        parser.add_argument("--port", type=int, help="manager port (default: a free port)")
        parser.add_argument("--host", default=None, help="address the manager binds (default 127.0.0.1)")
        parser.add_argument("--url-prefix", default=None, help="serve everything under /PREFIX (e.g. nni/exp1)")
        parser.add_argument("--manager", default="embedded" if create else None,
                            help="which manager to start: embedded (default) or one a plugin adds, e.g. nni")
        parser.add_argument("--debug", action="store_true", help="manager log level debug")
        parser.add_argument("--foreground", action="store_true",
                            help="stay attached: show progress until the experiment ends; Ctrl-C stops it")

    p = command("launch", "launch a new experiment from an NNI config file", run_launch)
    p.add_argument("config", metavar="CONFIG", help="experiment config (YAML, NNI v2 or v1)")
    manager_options(p, create=True)

    p = command("resume", "restart a stopped experiment; it runs the rest of its budget", run_resume)
    p.add_argument("id", nargs="?", metavar="ID")
    manager_options(p, create=False)

    p = command("view", "serve a stopped experiment read-only (dashboard and REST, no trials)", run_view)
    p.add_argument("id", nargs="?", metavar="ID")
    manager_options(p, create=False)
    p.set_defaults(foreground=False)

    p = command("stop", "stop experiments: their manager and every trial", run_stop)
    p.add_argument("id", nargs="?", metavar="ID")
    p.add_argument("--all", action="store_true", help="stop every running experiment")

    p = command("list", "list running experiments", run_list)
    p.add_argument("--all", action="store_true", help="include stopped experiments")

    p = command("show", "show an experiment: status, limits, progress, profile", run_show)
    p.add_argument("id", nargs="?", metavar="ID")

    p = command("trials", "list an experiment's trials", run_trials)
    p.add_argument("id", nargs="?", metavar="ID")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--head", type=int, metavar="N", help="only the first N trials")
    group.add_argument("--tail", type=int, metavar="N", help="only the last N trials")

    trial = subparsers.add_parser("trial", help="act on one trial", description="Act on one trial.")
    trial.set_defaults(handler=lambda args: _usage(trial))
    trial_commands = trial.add_subparsers(dest="trial_command", metavar="ACTION")
    p = trial_commands.add_parser("kill", help="cancel a trial", description="Cancel a trial.", epilog=_EPILOG_ID)
    p.add_argument("ids", nargs="+", metavar="[ID] TRIAL_ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_trial_kill)

    p = command("update", "change a running experiment's limits or search space", run_update)
    p.add_argument("id", nargs="?", metavar="ID")
    p.add_argument("--concurrency", type=int, metavar="N", help="trials run at the same time")
    p.add_argument("--max-trial-number", type=int, metavar="N", help="total trial budget")
    p.add_argument("--duration", metavar="TIME", help="maximum experiment duration, e.g. 90s, 10m, 2h, 1d")
    p.add_argument("--search-space", metavar="FILE", help="new search space (JSON or YAML file)")

    p = command("export", "export final results of succeeded trials", run_export)
    p.add_argument("id", nargs="?", metavar="ID")
    p.add_argument("--format", choices=("json", "csv"), default="json", help="output format (default json)")
    p.add_argument("--intermediate", action="store_true", help="include every reported metric of each trial")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")

    p = command("import-data", "feed earlier results to the tuner", run_import)
    p.add_argument("ids", nargs="+", metavar="[ID] FILE",
                   help='a JSON file: [{"parameter": {...}, "value": ...}, ...]')

    p = command("logs", "print the manager's log or a trial's output", run_logs)
    p.add_argument("id", nargs="?", metavar="ID")
    p.add_argument("--trial", metavar="TRIAL_ID", help="a trial's stdout instead of the manager's log")
    p.add_argument("--stderr", action="store_true", help="with --trial: its stderr")
    p.add_argument("--tail", type=int, metavar="N", help="only the last N lines")

    p = command("delete", "delete stopped experiments: registry entry and folder", run_delete)
    p.add_argument("id", nargs="?", metavar="ID")
    p.add_argument("--all", action="store_true", help="delete every stopped experiment")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# --- output helpers -------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _report(args: argparse.Namespace, value: Any, text: str) -> None:
    """The result of a command: ``value`` as JSON with --json, else the sentence ``text``."""
    if args.json:
        _print_json(value)
    else:
        print(text)


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """A plain text table: header, then one line per row; columns as (key, title)."""
    cells = [[title for _, title in columns]] + [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _time(ms: Any) -> str | None:
    if not isinstance(ms, (int, float)):
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _registry() -> Any:
    from nni_core.registry import Registry

    return Registry()


def _experiment(id_or_prefix: str | None) -> Any:
    from nni_core.launch import connect

    return connect(id_or_prefix)


# --- launch, resume, view -------------------------------------------------------------------------


def run_launch(args: argparse.Namespace) -> int:
    import os

    from nni_core.errors import UsageError
    from nni_core.launch import launch

    if not os.path.exists(args.config):
        raise UsageError(f"config file {args.config} does not exist")
    experiment = launch(args.config, port=args.port, host=args.host or "127.0.0.1", url_prefix=args.url_prefix,
                        manager=args.manager, debug=args.debug)
    return _launched(experiment, args, "launched")


def run_resume(args: argparse.Namespace) -> int:
    from nni_core.launch import resume

    experiment = resume(args.id, port=args.port, host=args.host, url_prefix=args.url_prefix,
                        manager=args.manager, debug=args.debug)
    return _launched(experiment, args, "resumed")


def run_view(args: argparse.Namespace) -> int:
    from nni_core.launch import view

    experiment = view(args.id, port=args.port, host=args.host, url_prefix=args.url_prefix,
                      manager=args.manager, debug=args.debug)
    return _launched(experiment, args, "viewed")


def _launched(experiment: Any, args: argparse.Namespace, verb: str) -> int:
    for warning in experiment.warnings:
        print(f"nni-core: warning: {warning}", file=sys.stderr)
    entry = experiment.entry
    if args.json:
        _print_json({"id": experiment.id, "status": entry.get("status"), "url": experiment.url,
                     "port": entry.get("port"), "pid": entry.get("pid"), "manager": entry.get("manager"),
                     "experimentDir": entry.get("experimentDir"), "stop": f"nni-core stop {experiment.id}"})
    else:
        print(f"Experiment {experiment.id} {verb} ({entry.get('status')}, manager {entry.get('manager')}, pid {entry.get('pid')})")
        # A manager reachable from other machines wants its token; the browser passes it once.
        token = f"/?token={entry['token']}" if entry.get("token") else ""
        print(f"Dashboard: {experiment.url}{token}")
        print(f"Stop it with: nni-core stop {experiment.id}")
    sys.stdout.flush()
    if getattr(args, "foreground", False):
        return follow(experiment, json_lines=args.json)
    return 0


def follow(experiment: Any, json_lines: bool = False, interval: float = 0.5) -> int:
    """Show a progress line until the experiment ends, then stop its manager; Ctrl-C stops it
    at once. Exit status 0 when it ended DONE, 1 otherwise."""
    from nni_core.errors import NniCoreError

    tty = sys.stdout.isatty() and not json_lines
    last = None
    status = None
    try:
        while True:
            try:
                progress = experiment.progress()
            except NniCoreError:
                status = experiment.status()
                break
            status = progress["status"]
            line = json.dumps(progress, sort_keys=True) if json_lines else _progress_line(progress)
            change = {k: v for k, v in progress.items() if k != "elapsed"}
            if tty:
                sys.stdout.write("\r\x1b[2K" + line)
                sys.stdout.flush()
            elif change != last:  # into a file or pipe: a line per change, not per tick
                print(line, flush=True)
            last = change
            if status in ("DONE", "ERROR", "STOPPED", "FAILED"):
                for error in progress["errors"]:
                    print(f"\nnni-core: manager error: {error}", file=sys.stderr)
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        if tty:
            print()
        print(f"Stopping experiment {experiment.id} ...", file=sys.stderr, flush=True)
        experiment.stop()
        print(f"Experiment {experiment.id} stopped; `nni-core resume {experiment.id}` continues it.", file=sys.stderr)
        return 130
    if tty:
        print()
    experiment.stop()
    if not json_lines:
        print(f"Experiment {experiment.id} ended {status}; `nni-core view {experiment.id}` serves its results.")
    return 0 if status == "DONE" else 1


def _progress_line(p: dict[str, Any]) -> str:
    budget = p["budget"] if p["budget"] is not None else "∞"
    best = f"{p['best']:.6g}" if p["best"] is not None else "-"
    return (f"{p['status']}: {p['done']}/{budget} trials done, {p['running']} running, {p['failed']} failed, "
            f"best {best}, elapsed {_duration(p['elapsed'])}")


# --- stop, list, show, delete ---------------------------------------------------------------------


def _targets(args: argparse.Namespace, running_only: bool) -> list[Any]:
    from nni_core.errors import UsageError
    from nni_core.launch import Experiment
    from nni_core.registry import ENDED

    registry = _registry()
    if args.all:
        if args.id:
            raise UsageError("give an experiment id or --all, not both")
        entries = [registry.refresh(e, ask_manager=False) for e in registry.all()]
        if running_only:
            entries = [e for e in entries if e.get("status") not in ENDED]
        else:
            entries = [e for e in entries if e.get("status") in ENDED]
        return [Experiment(e, registry) for e in entries]
    return [Experiment(registry.resolve(args.id), registry)]


def run_stop(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    experiments = _targets(args, running_only=True)
    # Managers stop concurrently: `stop --all` takes as long as the slowest, not the sum.
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(experiments)))) as pool:
        results = list(pool.map(lambda e: e.stop(), experiments))
    rows = [{"id": e.id, "wasRunning": r, "status": e.entry.get("status")} for e, r in zip(experiments, results)]
    if args.json:
        _print_json(rows)
    elif not rows:
        print("No experiment is running.")
    for row in [] if args.json else rows:
        print(f"Experiment {row['id']} stopped." if row["wasRunning"] else f"Experiment {row['id']} was not running.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from nni_core.registry import ENDED

    registry = _registry()
    entries = [registry.refresh(e) for e in registry.all()]
    if not args.all:
        entries = [e for e in entries if e.get("status") not in ENDED]
    if args.json:
        _print_json([{k: v for k, v in e.items() if k != "token"} for e in entries])
        return 0
    if not entries:
        print("No experiment is running." if not args.all else "No experiment.")
        return 0
    rows = [dict(e, start=_time(e.get("startTime")), end=_time(e.get("endTime")),
                 url=None if e.get("status") in ENDED else e.get("url")) for e in entries]
    print(_table(rows, [("id", "ID"), ("name", "NAME"), ("status", "STATUS"), ("platform", "PLATFORM"),
                        ("manager", "MANAGER"), ("port", "PORT"), ("start", "STARTED"), ("end", "ENDED"),
                        ("url", "URL")]))
    return 0


def run_show(args: argparse.Namespace) -> int:
    import contextlib

    from nni_core.errors import UsageError
    from nni_core.registry import ENDED

    experiment = _experiment(args.id)
    entry = experiment.refresh()
    profile = progress = None
    with contextlib.suppress(UsageError):  # a stopped experiment without a readable store
        profile = experiment.profile()
        progress = experiment.progress()
    if args.json:
        _print_json({"experiment": {k: v for k, v in entry.items() if k != "token"}, "profile": profile,
                     "progress": progress})
        return 0
    params = (profile or {}).get("params") or {}
    lines = [
        ("id", entry["id"]), ("name", entry.get("name")), ("status", entry.get("status")),
        ("platform", entry.get("platform")), ("manager", f"{entry.get('manager')} (pid {entry.get('pid')})"),
        ("url", entry.get("url")), ("started", _time(entry.get("startTime"))), ("ended", _time(entry.get("endTime"))),
        ("folder", entry.get("experimentDir")),
    ]
    if progress is not None:
        # trials a stop interrupted keep RUNNING in the store, as in NNI; resume runs them again
        running = "interrupted" if entry.get("status") in ENDED else "running"
        lines += [
            ("trials", f"{progress['done']}/{progress['budget'] if progress['budget'] is not None else '∞'} done, "
                       f"{progress['running']} {running}, {progress['failed']} failed"),
            ("best metric", progress["best"]),
            ("concurrency", params.get("trialConcurrency")),
            ("max duration", params.get("maxExperimentDuration")),
            ("elapsed", _duration(progress["elapsed"])),
            ("tuner", (params.get("tuner") or params.get("advisor") or {}).get("name")
                      or (params.get("tuner") or {}).get("className")),
        ]
        for error in progress["errors"]:
            lines.append(("error", error))
    if entry.get("error"):
        lines.append(("error", entry["error"]))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {_cell(value)}")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    import shutil

    from nni_core.errors import UsageError
    from nni_core.registry import ENDED

    experiments = _targets(args, running_only=False)
    for experiment in experiments:
        entry = experiment.refresh(ask_manager=False)
        if entry.get("status") not in ENDED:
            raise UsageError(f"experiment {experiment.id} is running; stop it first with `nni-core stop {experiment.id}`")
    deleted = []
    for experiment in experiments:
        shutil.rmtree(experiment.experiment_dir, ignore_errors=True)
        experiment.registry.remove(experiment.id)
        deleted.append(experiment.id)
    _report(args, {"deleted": deleted}, "\n".join(f"Experiment {i} deleted." for i in deleted) or "Nothing to delete.")
    return 0


# --- trials ---------------------------------------------------------------------------------------


def run_trials(args: argparse.Namespace) -> int:
    from nni_core.client import decode_metric

    experiment = _experiment(args.id)
    trials = experiment.trials()
    if args.head is not None:
        trials = trials[: max(args.head, 0)]
    elif args.tail is not None:
        trials = trials[-args.tail:] if args.tail > 0 else []
    if args.json:
        _print_json(trials)
        return 0
    rows = []
    for trial in trials:
        params = None
        if trial.get("hyperParameters"):
            try:
                params = json.loads(trial["hyperParameters"][0]).get("parameters")
            except (ValueError, AttributeError):
                params = trial["hyperParameters"][0]
        final = None
        for metric in trial.get("finalMetricData") or ():
            final = decode_metric(metric["data"])
        start, end = trial.get("startTime"), trial.get("endTime")
        rows.append({"id": trial.get("trialJobId"), "seq": trial.get("sequenceId"), "status": trial.get("status"),
                     "start": _time(start), "duration": _duration((end - start) / 1000) if start and end else None,
                     "metric": final, "parameters": params})
    if not rows:
        print("No trial yet.")
        return 0
    print(_table(rows, [("id", "TRIAL"), ("seq", "SEQ"), ("status", "STATUS"), ("start", "STARTED"),
                        ("duration", "DURATION"), ("metric", "METRIC"), ("parameters", "PARAMETERS")]))
    return 0


def _split_ids(args: argparse.Namespace, what: str) -> tuple[str | None, str]:
    from nni_core.errors import UsageError

    if len(args.ids) == 1:
        return None, args.ids[0]
    if len(args.ids) == 2:
        return args.ids[0], args.ids[1]
    raise UsageError(f"expected [ID] {what}, got {len(args.ids)} arguments")


def run_trial_kill(args: argparse.Namespace) -> int:
    experiment_id, trial_id = _split_ids(args, "TRIAL_ID")
    experiment = _experiment(experiment_id)
    experiment.kill_trial(trial_id)
    _report(args, {"experiment": experiment.id, "trial": trial_id, "killed": True},
            f"Trial {trial_id} of experiment {experiment.id} cancelled.")
    return 0


# --- update, export, import -----------------------------------------------------------------------


def _read_structured(path: str, what: str) -> Any:
    """A JSON or YAML file, or a one-line UsageError saying what is wrong with it."""
    from nni_core.errors import UsageError

    try:
        with open(path) as file:
            text = file.read()
    except OSError as error:
        raise UsageError(f"cannot read {what} file {path}: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise UsageError(f"{what} file {path} is neither JSON nor YAML{where}") from None


def run_update(args: argparse.Namespace) -> int:
    from nni_core.errors import UsageError

    changes = {k: getattr(args, k) for k in ("concurrency", "max_trial_number", "duration", "search_space")
               if getattr(args, k) is not None}
    if not changes:
        raise UsageError("nothing to update: give --concurrency, --max-trial-number, --duration or --search-space")
    if "search_space" in changes:
        space = _read_structured(changes["search_space"], "search space")
        if not isinstance(space, dict):
            raise UsageError(f"search space file {changes['search_space']} must hold a mapping of parameter names")
        changes["search_space"] = space
    experiment = _experiment(args.id)
    experiment.update(**changes)
    _report(args, {"experiment": experiment.id, "updated": sorted(changes)},
            f"Experiment {experiment.id} updated: {', '.join(k.replace('_', ' ') for k in sorted(changes))}.")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from nni_core.errors import UsageError
    from nni_core.launch import export_csv

    experiment = _experiment(args.id)
    records = experiment.export(intermediate=args.intermediate)
    json_format = args.json or args.format == "json"  # --json is the JSON format here
    text = json.dumps(records) + "\n" if json_format else export_csv(records)
    if args.output:
        try:
            with open(args.output, "w", newline="") as file:
                file.write(text)
        except OSError as error:
            raise UsageError(f"cannot write {args.output}: {error.strerror}") from None
        print(f"Exported {len(records)} trial results to {args.output}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from nni_core.errors import UsageError

    experiment_id, path = _split_ids(args, "FILE")
    records = _read_structured(path, "import data")
    if not isinstance(records, list) or not all(isinstance(r, dict) and "parameter" in r and "value" in r for r in records):
        raise UsageError(f'import data file {path} must hold a list of {{"parameter": {{...}}, "value": ...}} records')
    experiment = _experiment(experiment_id)
    experiment.import_data(records)
    _report(args, {"experiment": experiment.id, "imported": len(records)},
            f"Imported {len(records)} results into experiment {experiment.id}.")
    return 0


# --- logs -----------------------------------------------------------------------------------------


def run_logs(args: argparse.Namespace) -> int:
    from nni_core.errors import UsageError
    from nni_core.launch import tail

    experiment = _experiment(args.id)
    experiment.refresh(ask_manager=False)
    if args.stderr and not args.trial:
        raise UsageError("--stderr needs --trial TRIAL_ID")
    path = experiment.log_file(args.trial, stderr=args.stderr)
    if path is None:
        what = f"trial {args.trial} of experiment {experiment.id}" if args.trial else f"experiment {experiment.id}"
        raise UsageError(f"no log file for {what} on this machine")
    if args.json:
        text = tail(path, args.tail) if args.tail else path.read_text(errors="replace")
        _print_json({"experiment": experiment.id, "trial": args.trial, "path": str(path), "text": text})
        return 0
    if args.tail:
        print(tail(path, args.tail))
    else:
        sys.stdout.write(path.read_text(errors="replace"))
    return 0
