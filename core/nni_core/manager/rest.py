"""The manager's HTTP surface: NNI 3.0's REST API, the trial channel, ``/logs``, the dashboard.

Routes under ``/api/v1/nni`` keep NNI 3.0's paths, shapes and status values
(``../shared/spec/nni-manager-rest.md`` §3). Where NNI answers, we answer the same (status and
message, including its 500s); where NNI hangs or crashes (a missing or unknown ``update_type``,
``cluster-metadata`` on a platform without it, cancelling an unknown trial) we answer a 4xx with
``{"error": "..."}``.

``build_app(engine, url_prefix, token)`` returns the Starlette app; ``app.state.engine`` is the
experiment (``nni_core.manager.engine.Engine``; its ``state`` is the read model), for the
dashboard and for extra read endpoints.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from nni_core.manager.engine import ApiError, Engine

_logger = logging.getLogger("RestServer")

API = "/api/v1/nni"
JSON_TYPE = "application/json; charset=utf-8"
STATUS_WAIT_S = 60.0  # the longest a check-status?changedFrom= request waits (its default timeout)
_CORS = {"Access-Control-Allow-Headers": "Origin, X-Requested-With, Content-Type, Accept",
         "Access-Control-Allow-Methods": "PUT,POST,GET,DELETE,OPTIONS"}


def json_response(value: Any, status: int = 200) -> Response:
    body = b"" if value is None else json.dumps(value).encode()
    return Response(body, status_code=status, media_type=JSON_TYPE, headers=_CORS)


def empty(status: int = 200) -> Response:
    return Response(b"", status_code=status, media_type=JSON_TYPE, headers=_CORS)


def error(message: str, status: int) -> Response:
    return json_response({"error": message}, status)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError("the request body is not valid JSON") from None


def _seconds(text: str | None, default: float) -> float:
    """A ``timeout`` query parameter: seconds, at most ``default``."""
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= default:
        raise ApiError(f"timeout must be a number of seconds from 0 to {default:g}, got {text!r}")
    return value


Handler = Callable[[Request], Awaitable[Response]]


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as failure:
            return error(str(failure), failure.status)
        except Exception as failure:  # noqa: BLE001 - one clear line, never a traceback page
            _logger.exception("%s %s failed", request.method, request.url.path)
            return error(f"{type(failure).__name__}: {failure}", 500)
    return wrapped


def api_routes(engine: Engine) -> list[BaseRoute]:
    state = engine.state

    async def version(request: Request) -> Response:
        from nni_core import __version__

        return Response(__version__, media_type=JSON_TYPE, headers=_CORS)  # bare text, as NNI

    async def check_status(request: Request) -> Response:
        seen = request.query_params.get("changedFrom")
        if seen is not None:  # a long poll (nni-core's): answer when the status differs from it
            await engine.wait_status_change(seen, _seconds(request.query_params.get("timeout"), STATUS_WAIT_S))
        return json_response({"status": state.status, "errors": list(state.errors)})

    async def get_experiment(request: Request) -> Response:
        return json_response(state.profile_json())

    async def post_experiment(request: Request) -> Response:
        result = await engine.api_start(await _body(request))
        return json_response(result)

    async def put_experiment(request: Request) -> Response:
        await engine.api_update(request.query_params.get("update_type"), await _body(request))
        return empty()

    async def delete_experiment(request: Request) -> Response:
        request.app.state.request_stop()
        return empty()

    async def metadata(request: Request) -> Response:
        return json_response(_metadata(engine, request))

    async def experiments_info(request: Request) -> Response:
        from nni_core.registry import Registry

        entries = [_nni_entry(e) for e in Registry().all() if e.get("id") != state.id]
        return json_response(entries + [_metadata(engine, request)])

    async def import_data(request: Request) -> Response:
        await engine.api_import_data(await _body(request))
        return empty()

    async def imported_data(request: Request) -> Response:
        return json_response(list(state.imported))

    async def cluster_metadata(request: Request) -> Response:
        await engine.api_cluster_metadata(await _body(request))
        return empty()

    async def job_statistics(request: Request) -> Response:
        return json_response(state.job_statistics())

    async def trial_jobs(request: Request) -> Response:
        return json_response(state.trial_jobs(request.query_params.get("status")))

    async def trial_job(request: Request) -> Response:
        trial = state.trials.get(request.path_params["id"])
        return json_response(trial.info() if trial is not None else None)  # NNI: 200, empty body

    async def add_trial(request: Request) -> Response:
        return json_response(await engine.api_add_customized(await _body(request)))

    async def cancel_trial(request: Request) -> Response:
        await engine.api_cancel(request.path_params["id"])
        return empty()

    async def metric_data(request: Request) -> Response:
        return json_response(state.metric_data(request.path_params.get("id"), request.query_params.get("type")))

    async def metric_range(request: Request) -> Response:
        try:
            low, high = int(request.path_params["min"]), int(request.path_params["max"])
        except ValueError:
            raise ApiError("minSeq and maxSeq must be integers") from None
        return json_response(state.metric_data_range(low, high))

    async def metric_latest(request: Request) -> Response:
        return json_response(state.metric_data_latest())

    async def trial_file(request: Request) -> Response:
        trial_id, name = request.path_params["id"], request.path_params["filename"]
        if "/" in trial_id or "/" in name or name in ("", ".", ".."):
            raise ApiError("trial id and file name must be single path components")
        trial = state.trials.get(trial_id)
        trial_dir = trial.log_path if trial is not None and trial.log_path else os.path.join(
            state.experiment_dir, "environments", "local-env", "trials", trial_id)
        path = os.path.join(trial_dir, {"stdout": "trial.stdout", "stderr": "trial.stderr"}.get(name, name))
        try:
            with open(path, "rb") as file:
                content = file.read()
        except OSError as failure:
            raise ApiError(f"ENOENT: no such file or directory, open '{path}'"
                           if isinstance(failure, FileNotFoundError) else str(failure), 500) from None
        text_file = name in ("trial.log", "stdout", "stderr")
        if not content:
            content = f"{name} is empty.".encode()
        return Response(content, media_type="text/plain; charset=utf-8" if text_file else "application/octet-stream")

    async def export_data(request: Request) -> Response:
        return json_response(state.export_data())

    async def tensorboard_tasks(request: Request) -> Response:
        return json_response([])

    async def tensorboard_task(request: Request) -> Response:
        if request.method == "GET":
            raise ApiError("Tensorboard task not found", 500)
        raise ApiError("TensorBoard is not supported by this manager", 400)

    table: list[tuple[str, Handler, list[str]]] = [
        ("/version", version, ["GET"]),
        ("/check-status", check_status, ["GET"]),
        ("/experiment", get_experiment, ["GET"]),
        ("/experiment", post_experiment, ["POST"]),
        ("/experiment", put_experiment, ["PUT"]),
        ("/experiment", delete_experiment, ["DELETE"]),
        ("/experiment-metadata", metadata, ["GET"]),
        ("/experiments-info", experiments_info, ["GET"]),
        ("/experiment/import-data", import_data, ["POST"]),
        ("/experiment/imported-data", imported_data, ["GET"]),
        ("/experiment/cluster-metadata", cluster_metadata, ["PUT"]),
        ("/job-statistics", job_statistics, ["GET"]),
        ("/trial-jobs", trial_jobs, ["GET"]),
        ("/trial-jobs", add_trial, ["POST"]),
        ("/trial-jobs/{id}", trial_job, ["GET"]),
        ("/trial-jobs/{id}", cancel_trial, ["DELETE"]),
        ("/metric-data", metric_data, ["GET"]),
        ("/metric-data/{id}", metric_data, ["GET"]),
        ("/metric-data-range/{min}/{max}", metric_range, ["GET"]),
        ("/metric-data-latest/", metric_latest, ["GET"]),
        ("/trial-file/{id}/{filename}", trial_file, ["GET"]),
        ("/export-data", export_data, ["GET"]),
        ("/tensorboard-tasks", tensorboard_tasks, ["GET"]),
        ("/tensorboard", tensorboard_task, ["POST"]),
        ("/tensorboard/{id}", tensorboard_task, ["GET", "PUT", "DELETE"]),
    ]
    return [Route(API + path, _guard(handler), methods=methods) for path, handler, methods in table]


def _metadata(engine: Engine, request: Request) -> dict[str, Any]:
    """This experiment's registry entry in NNI's shape (spec §8), with the live status."""
    from nni_core.registry import Registry

    state = engine.state
    entry = Registry().get(state.id) or {}
    info = engine.manager_info
    merged = _nni_entry({**entry, "id": state.id, "status": state.status,
                         "port": info.get("port", entry.get("port")), "pid": os.getpid(),
                         "urlPrefix": info.get("urlPrefix") or entry.get("urlPrefix"),
                         "url": info.get("url", entry.get("url"))})
    params = state.params
    if merged["experimentName"] is None:
        merged["experimentName"] = params.get("experimentName")
    if merged["platform"] is None:
        section = params.get("trainingService")
        merged["platform"] = section.get("platform") if isinstance(section, dict) else None
    if merged["logDir"] is None:
        merged["logDir"] = os.path.dirname(state.experiment_dir)
    if state.profile is not None:
        merged["startTime"] = merged["startTime"] or state.profile.get("startTime")
        merged["endTime"] = state.profile.get("endTime", "N/A")
    return merged


def _nni_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An nni-core registry entry in NNI 3.0's registry shape."""
    return {
        "id": entry.get("id"),
        "port": entry.get("port"),
        "startTime": entry.get("startTime"),
        "endTime": entry.get("endTime") if entry.get("endTime") is not None else "N/A",
        "status": entry.get("status"),
        "platform": entry.get("platform"),
        "experimentName": entry.get("name", entry.get("experimentName")),
        "tag": entry.get("tag", []),
        "pid": entry.get("pid"),
        "webuiUrl": [entry["url"]] if entry.get("url") else [],
        "logDir": entry.get("experimentsDirectory", entry.get("logDir")),
        "prefixUrl": entry.get("urlPrefix") or None,
    }


def channel_routes(engine: Engine) -> list[BaseRoute]:
    """NNI 3.0's trial command channel (trial protocol §5): ``/env/<env>/<trial>``."""

    async def channel(request: Request) -> Response:
        trial_id = request.path_params["trial"]
        if request.method == "GET":
            target = engine.channels.get(trial_id)
            if target is None:
                return Response(b"", status_code=410)
            command = await target.get()
            if command is None:
                return Response(b"", status_code=408)
            if command is False:
                return Response(b"", status_code=410)
            return json_response(command)
        try:
            command = json.loads(await request.body())
        except ValueError:
            _logger.warning("trial %s sent a body that is not JSON", trial_id)
            return Response(b"", status_code=400)
        try:
            status = await engine.channel_command(trial_id, command)
        except Exception:  # noqa: BLE001 - a trial's garbage never takes the manager down
            _logger.exception("trial %s: command failed", trial_id)
            status = 200
        return Response(b"", status_code=status)

    return [Route("/env/{env}/{trial}", channel, methods=["GET", "PUT"])]


def log_routes(engine: Engine) -> list[BaseRoute]:
    log_dir = os.path.join(engine.state.experiment_dir, "log")

    async def log_file(request: Request) -> Response:
        name = request.path_params["name"]
        path = os.path.join(log_dir, name)
        if "/" not in name and name not in (".", "..") and os.path.isfile(path):
            return FileResponse(path, media_type="text/plain; charset=UTF-8")
        return await _fallback(request)

    return [Route("/logs/{name}", log_file, methods=["GET"])]


async def _fallback(request: Request) -> Response:
    """What an unknown path gets: the dashboard's index for GET, 404 otherwise (as NNI)."""
    if request.method in ("GET", "HEAD"):
        return Response(_PLACEHOLDER, media_type="text/html; charset=utf-8")
    return PlainTextResponse("Not Found", status_code=404)


_PLACEHOLDER = "<!doctype html><title>nni-core</title><p>The experiment manager is running.</p>"


def dashboard_routes() -> list[BaseRoute]:
    try:
        from nni_core.dashboard import routes
    except ImportError:
        return [Route("/{path:path}", _fallback, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])]
    return list(routes())


class TokenGuard:
    """Every request must carry the token: ``Authorization: Bearer <token>``, ``?token=<token>``,
    or the cookie set when a page was opened with ``?token=`` (a browser cannot add a header to
    the page's own script, style and API requests)."""

    COOKIE = "nni_core_token"

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        import hmac

        request = Request(scope)
        header = request.headers.get("authorization", "")
        from_query = request.query_params.get("token")
        given = header[7:] if header.lower().startswith("bearer ") else from_query or request.cookies.get(self.COOKIE)
        if not given or not hmac.compare_digest(given, self.token):
            response = error("missing or wrong access token (send 'Authorization: Bearer <token>')", 401)
            await response(scope, receive, send)
            return
        if not from_query:
            await self.app(scope, receive, send)
            return
        cookie = f"{self.COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def send_with_cookie(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def build_app(engine: Engine, url_prefix: str = "", token: str | None = None,
              request_stop: Callable[[], None] = lambda: None) -> Starlette:
    routes = api_routes(engine) + channel_routes(engine) + log_routes(engine) + dashboard_routes()
    prefix = url_prefix.strip("/")
    if prefix:
        outside = f'Outside prefix "/{prefix}"'

        async def outside_prefix(request: Request) -> Response:
            return PlainTextResponse(outside, status_code=404)

        routes = [Mount(f"/{prefix}", routes=routes),
                  Route("/{path:path}", outside_prefix, methods=["GET", "HEAD", "POST", "PUT", "DELETE"])]
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False
    app.state.engine = engine
    app.state.request_stop = request_stop
    if token:
        app.add_middleware(TokenGuard, token=token)
    return app
