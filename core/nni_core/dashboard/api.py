"""The dashboard's own read endpoint: one cheap poll that says what changed.

NNI's API makes a live page fetch the whole trial list every time. With 10,000 trials that is
megabytes a second. ``GET api/dashboard/v1/poll?since=<cursor>`` answers in one request:

    {"cursor": "<epoch>.<n>", "full": bool, "total": <trial count>,
     "status": ..., "errors": [...], "profile": {...GET /experiment...},
     "trials": [TrialJobInfo, ...]}

``trials`` holds only the trials whose list entry changed after ``since`` (all of them when
``full``: first call, or a cursor from another manager process). Trial shapes are exactly
``GET /trial-jobs``'s. The answer carries ``ETag: "<cursor>"``; a request whose ``If-None-Match``
names the current cursor gets ``304 Not Modified`` with no body, so an idle experiment costs one
round trip and no parsing.

Changes are found by comparing each trial's signature (status, times, final metric, parameters)
with the one seen at the previous poll: O(trials) tuple compares, no hook into the engine. The
engine is read from ``request.app.state.engine`` (``nni_core.manager.rest.build_app``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

PATH = "/api/dashboard/v1/poll"


class ChangeTracker:
    """Numbers changes of the trial list; one per manager process (kept on the app's state)."""

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(4)  # cursors of another process are never mistaken for ours
        self.version = 0
        self.seen: dict[str, tuple[tuple, int]] = {}  # trial id -> (signature, version it changed at)
        self.top: tuple = ()

    def refresh(self, state: Any) -> None:
        bumped = False
        for trial in state.trials.values():
            sig = (trial.status, trial.start_time, trial.end_time, trial.final is not None,
                   len(trial.hyper_parameters), trial.message, trial.log_path)
            held = self.seen.get(trial.id)
            if held is None or held[0] != sig:
                if not bumped:
                    self.version += 1
                    bumped = True
                self.seen[trial.id] = (sig, self.version)
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
    if since is None:
        trials = state.trial_jobs()
    else:
        trials = [t.info() for t in state.trials.values() if tracker.seen[t.id][1] > since]
    return JSONResponse({
        "cursor": tracker.cursor,
        "full": since is None,
        "total": len(state.trials),
        "status": state.status,
        "errors": list(state.errors),
        "profile": state.profile_json(),
        "trials": trials,
    }, headers=headers)


def api_routes() -> list[BaseRoute]:
    return [Route(PATH, poll, methods=["GET"])]
