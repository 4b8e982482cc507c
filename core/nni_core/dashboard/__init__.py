"""The web dashboard: static files served by the embedded manager.

``routes()`` returns the Starlette routes the manager appends *after* its own API routes:

* ``api/dashboard/v1/poll``  what changed since the page's last poll (``nni_core.dashboard.api``);
* ``static/...``  the page's modules, styles and vendored libraries (package data, no build step);
* anything else   ``index.html`` for GET/HEAD (NNI serves its web UI for every unknown GET, so a
  bookmarked deep link or a typo still lands on the dashboard), ``404 Not Found`` otherwise.

The page uses only relative URLs. ``index.html`` is served with a ``<base href>`` naming the
directory the dashboard is mounted at, so it works at ``/``, under ``/<url-prefix>/`` and from any
fallback path alike.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

STATIC_DIR = Path(__file__).with_name("static")
_BASE_MARK = "<!--BASE-->"
# every method, so that an unknown POST gets NNI's 404 rather than Starlette's 405
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def routes() -> list[BaseRoute]:
    """The dashboard's routes; mount them last (the fallback matches every path)."""
    from nni_core.dashboard.api import api_routes

    return [
        *api_routes(),
        Route("/static/{file:path}", _static, methods=["GET", "HEAD"], name="dashboard-static"),
        Route("/{path:path}", _index, methods=_ALL_METHODS, name="dashboard-index"),
    ]


def base_href(request: Request) -> str:
    """The URL directory the dashboard is mounted at, e.g. ``/`` or ``/pfx/``.

    Derived from the request path minus the part the catch-all matched, so it is right however
    the prefix was applied (Mount, root_path or a middleware).
    """
    full = request.url.path
    rest = request.path_params.get("path", "")
    base = full[: len(full) - len(rest)] if rest and full.endswith(rest) else full
    return base if base.endswith("/") else base + "/"


_index_cache: dict[str, str] = {}
# path -> (body, content type, etag); the files ship with the package and never change while
# the manager runs, so each is read once and then served from memory (the manager's event loop
# also schedules trials: no per-request stat, thread hop or file read)
_static_cache: dict[str, tuple[bytes, str, str]] = {}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", "": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8"}


def _static_file(name: str) -> tuple[bytes, str, str] | None:
    held = _static_cache.get(name)
    if held is None:
        path = (STATIC_DIR / name).resolve()
        if STATIC_DIR.resolve() not in path.parents or not path.is_file():
            return None
        body = path.read_bytes()
        kind = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        held = _static_cache[name] = (body, kind, '"%s"' % hashlib.sha1(body).hexdigest()[:20])
    return held


async def _static(request: Request) -> Response:
    found = _static_file(request.path_params["file"])
    if found is None:
        return PlainTextResponse("Not Found", status_code=404)
    body, kind, etag = found
    # no-cache: the browser revalidates (a cheap 304), so an upgraded nni-core is picked up at once
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=kind, headers=headers)


async def _index(request: Request) -> Response:
    if request.method not in ("GET", "HEAD"):
        return PlainTextResponse("Not Found", status_code=404)
    text = _index_cache.get("index")
    if text is None:  # read once: the file ships with the package and does not change
        text = _index_cache["index"] = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = text.replace(_BASE_MARK, f'<base href="{html.escape(base_href(request), quote=True)}">', 1)
    # no-cache: the page is tiny and must pick up a new version's module URLs at once
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
