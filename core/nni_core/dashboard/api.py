"""The dashboard's own read endpoint: one cheap poll that says what changed.

NNI's API makes a live page fetch the whole trial list, as TrialJobInfo (escaped JSON strings,
log paths, metric records), on every poll: 6 MB for 10,000 trials. ``GET
api/dashboard/v1/poll?since=<cursor>`` answers in one request with what the page shows:

    {"cursor": "<epoch>.<n>", "full": bool, "total": <trial count>,
     "status": ..., "errors": [...], "profile": {...GET /experiment...},
     "columns": ["id", "seq", "status", "start", "end", "params", "final", "message"],
     "paramNames": ["lr", "units", "opt", "opt/momentum", ...],
     "trials": [[...one row per trial, in `columns` order...], ...]}

``params`` is the ``parameters`` of the record the trial received, flattened (a nested choice
``{"opt": {"_name": "sgd", "momentum": 0.9}}`` gives ``opt`` = ``"sgd"``, ``opt/momentum`` = 0.9)
and given as a list in ``paramNames`` order (missing: null; names only ever get appended, so a
row sent earlier stays valid). ``final`` is the final metric decoded (a number, or the dict the
trial reported), for SUCCEEDED trials as ``/trial-jobs`` shows it. ``trials`` holds only the trials that changed
after ``since`` (every trial when ``full``: first call, or a cursor from another manager process).
The answer carries ``ETag: "<cursor>"``; ``If-None-Match`` naming the current cursor gets ``304``
with no body, so an idle experiment costs one round trip and no parsing.

Changes are found by comparing each trial's signature (status, times, final metric, parameters)
with the one seen at the previous poll: tuple compares, no hook into the engine. Each trial's row
is serialised once per change and the cached fragments joined, so a full answer for 10,000 trials
costs a string join, not a 6 MB ``json.dumps``. The engine is ``request.app.state.engine``
(``nni_core.manager.rest.build_app``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

PATH = "/api/dashboard/v1/poll"
COLUMNS = ["id", "seq", "status", "start", "end", "params", "final", "message"]


def flatten(params: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Nested choices flattened to ``name/sub`` keys, the chosen ``_name`` as the parent's value."""
    out = {} if out is None else out
    if not isinstance(params, dict):
        return out
    for key, value in params.items():
        if key == "_name" and prefix:
            out[prefix] = value
        elif isinstance(value, dict):
            flatten(value, f"{prefix}/{key}" if prefix else key, out)
        else:
            out[f"{prefix}/{key}" if prefix else key] = value
    return out


def _row(trial: Any, names: dict[str, int]) -> bytes:
    # the record the trial received (already parsed; hyperParameters[0] is its JSON text)
    flat = flatten((trial.parameter or {}).get("parameters"))
    for name in flat:
        names.setdefault(name, len(names))
    params: list[Any] = [None] * len(names)
    for name, value in flat.items():
        params[names[name]] = value
    while params and params[-1] is None:
        params.pop()
    final = None
    if trial.status == "SUCCEEDED" and trial.final is not None:  # as /trial-jobs shows it
        try:
            final = json.loads(json.loads(trial.final["data"]))
        except (TypeError, ValueError):
            final = None
    return json.dumps([trial.id, trial.sequence_id, trial.status, trial.start_time, trial.end_time,
                       params, final, trial.message or None], separators=(",", ":")).encode()


class ChangeTracker:
    """Numbers changes of the trial list; one per manager process (kept on the app's state)."""

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(4)  # cursors of another process are never mistaken for ours
        self.version = 0
        # trial id -> (signature, version it last changed at, its serialised row)
        self.seen: dict[str, tuple[tuple, int, bytes]] = {}
        self.top: tuple = ()
        self.names: dict[str, int] = {}  # flattened parameter name -> its column in a row's params

    def refresh(self, state: Any) -> None:
        bumped = False
        seen = self.seen
        for trial in state.trials.values():
            sig = (trial.status, trial.start_time, trial.end_time, trial.final is not None,
                   len(trial.hyper_parameters), trial.message)
            held = seen.get(trial.id)
            if held is None or held[0] != sig:
                if not bumped:
                    self.version += 1
                    bumped = True
                seen[trial.id] = (sig, self.version, _row(trial, self.names))
        # status, errors, elapsed time and limits change without any trial changing
        profile = state.profile or {}
        top = (state.status, len(state.errors), profile.get("revision"), state.exec_duration(),
               json.dumps(profile.get("params"), sort_keys=True))
        if top != self.top:
            self.top = top
            if not bumped:
                self.version += 1

    @property
    def cursor(self) -> str:
        return f"{self.epoch}.{self.version}"

    def since(self, cursor: str | None) -> int | None:
        """The version a client's cursor stands for, or None when it must get everything."""
        if not cursor or "." not in cursor:
            return None
        epoch, _, number = cursor.partition(".")
        if epoch != self.epoch or not number.isdigit() or int(number) > self.version:
            return None
        return int(number)


async def poll(request: Request) -> Response:
    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return JSONResponse({"error": "no experiment is served here"}, status_code=404)
    tracker = getattr(request.app.state, "dashboard_changes", None)
    if tracker is None:
        tracker = request.app.state.dashboard_changes = ChangeTracker()
    state = engine.state
    tracker.refresh(state)
    etag = f'"{tracker.cursor}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    since = tracker.since(request.query_params.get("since"))
    rows = [tracker.seen[t.id] for t in state.trials.values()]
    fragments = [row for _, version, row in rows if since is None or version > since]
    head = json.dumps({
        "cursor": tracker.cursor, "full": since is None, "total": len(rows),
        "status": state.status, "errors": list(state.errors), "profile": state.profile_json(),
        "columns": COLUMNS, "paramNames": list(tracker.names),
    }, separators=(",", ":")).encode()
    body = head[:-1] + b',"trials":[' + b",".join(fragments) + b"]}"
    return Response(body, media_type="application/json", headers=headers)


def api_routes() -> list[BaseRoute]:
    return [Route(PATH, poll, methods=["GET"])]
