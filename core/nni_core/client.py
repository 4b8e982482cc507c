"""A client of the manager's REST API (NNI 3.0 paths and shapes under ``/api/v1/nni``).

Works against the embedded manager and the real NNI 3.0 manager alike. Errors come back as
``ManagerError`` (the manager answered with an error: ``{"error": ...}``) or
``ManagerUnavailable`` (nothing answered); both carry one readable line.
"""

from __future__ import annotations

import json
import os
from typing import Any

import requests

from nni_core.errors import LaunchError

API_ROOT = "api/v1/nni"

UPDATE_TYPES = {
    "trialConcurrency": "TRIAL_CONCURRENCY",
    "maxExperimentDuration": "MAX_EXEC_DURATION",
    "maxTrialNumber": "MAX_TRIAL_NUM",
    "searchSpace": "SEARCH_SPACE",
}


class ManagerError(LaunchError):
    """The manager answered a request with an error."""


class ManagerUnavailable(LaunchError):
    """The manager did not answer (not started yet, stopped, or unreachable)."""


def base_url(host: str, port: int, url_prefix: str | None = "") -> str:
    """``http://host:port[/prefix]``; IPv6 literals are bracketed."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    prefix = f"/{url_prefix}" if url_prefix else ""
    return f"http://{host}:{port}{prefix}"


class ManagerClient:
    """REST calls to one manager. ``url`` is the manager's base URL (with its URL prefix)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 20.0) -> None:
        self.url = url.rstrip("/")
        self.api = f"{self.url}/{API_ROOT}"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # a proxy from the environment must not see loopback calls
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def for_entry(cls, entry: dict[str, Any], timeout: float = 20.0) -> "ManagerClient":
        """Client for a registry entry (uses its loopback-reachable URL and token)."""
        if not entry.get("url"):
            raise ManagerUnavailable(f"experiment {entry.get('id')} has no manager address")
        return cls(entry["apiUrl"] if entry.get("apiUrl") else entry["url"], entry.get("token"), timeout)

    # --- plumbing ---

    def request(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> requests.Response:
        url = f"{self.api}/{path.lstrip('/')}"
        try:
            response = self.session.request(method, url, timeout=timeout or self.timeout, **kwargs)
        except requests.Timeout:
            raise ManagerUnavailable(f"the manager at {self.url} did not answer {method} /{path} in time") from None
        except requests.RequestException:
            raise ManagerUnavailable(f"no manager answers at {self.url}") from None
        if response.status_code >= 400:
            raise ManagerError(f"{method} /{path.split('?')[0]}: {_error_message(response)}")
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ManagerError(f"GET /{path}: the manager's answer is not JSON: {response.text[:200]!r}") from None

    # --- experiment ---

    def check_status(self, timeout: float | None = None) -> dict[str, Any]:
        """``{"status": ..., "errors": [...]}``. Before its API is ready NNI answers the bare text
        INITIALIZING; that comes back as ``{"status": "INITIALIZING", "errors": []}``."""
        response = self.request("GET", "check-status", timeout=timeout)
        try:
            body = response.json()
        except ValueError:
            return {"status": response.text.strip() or "INITIALIZING", "errors": [], "ready": False}
        if not isinstance(body, dict):
            return {"status": str(body), "errors": [], "ready": False}
        body.setdefault("errors", [])
        body["ready"] = True
        return body

    def status_after(self, seen: str, wait: float) -> str:
        """The status once it is no longer ``seen``, or after ``wait`` seconds: one long poll
        (``check-status?changedFrom=``). A manager without long polls (NNI's) answers at once."""
        response = self.request("GET", "check-status", params={"changedFrom": seen, "timeout": f"{wait:g}"},
                                timeout=wait + self.timeout)
        try:
            return str(response.json()["status"])
        except (ValueError, KeyError, TypeError):
            return response.text.strip() or "INITIALIZING"

    def profile(self) -> dict[str, Any] | None:
        """The experiment profile (GET /experiment); None before the experiment was submitted."""
        return self.get_json("experiment")

    def submit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        response = self.request("POST", "experiment", json=body)
        return response.json() if response.content else None

    def update(self, field: str, value: Any) -> None:
        """Change one of ``UPDATE_TYPES``' fields, the way nnictl does: fetch the profile, change
        the field, PUT it back with the matching ``update_type``."""
        profile = self.profile()
        if not profile:
            raise ManagerError("the experiment has not started; nothing to update")
        profile["params"][field] = value
        self.request("PUT", "experiment", params={"update_type": UPDATE_TYPES[field]}, json=profile)

    def delete_experiment(self) -> None:
        self.request("DELETE", "experiment")

    def cluster_metadata(self, body: dict[str, Any]) -> None:
        self.request("PUT", "experiment/cluster-metadata", json=body)

    def import_data(self, records: list[Any]) -> None:
        self.request("POST", "experiment/import-data", json=records)

    # --- trials and metrics ---

    def trials(self, status: str | None = None) -> list[dict[str, Any]]:
        return self.get_json("trial-jobs", params={"status": status} if status else None) or []

    def trial(self, trial_id: str) -> dict[str, Any] | None:
        return self.get_json(f"trial-jobs/{trial_id}")

    def kill_trial(self, trial_id: str) -> None:
        self.request("DELETE", f"trial-jobs/{trial_id}")

    def statistics(self) -> list[dict[str, Any]]:
        return self.get_json("job-statistics") or []

    def metrics(self, trial_id: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        path = f"metric-data/{trial_id}" if trial_id else "metric-data"
        return self.get_json(path, params={"type": type} if type else None) or []

    def export_data(self) -> list[dict[str, Any]]:
        return self.get_json("export-data") or []

    def trial_file(self, trial_id: str, name: str) -> str:
        return self.request("GET", f"trial-file/{trial_id}/{name}").text


class StoredExperimentReader:
    """The reading calls of ``ManagerClient`` answered from a stopped experiment's store
    (``<experiment dir>/db/nni.sqlite``, NNI's schema, which both managers write) through the
    manager's own read model, so the answers have the REST API's shapes with no manager running.

    Raises FileNotFoundError (no store), ValueError (no experiment in it) or sqlite3.Error.
    """

    def __init__(self, experiment_dir: str, experiment_id: str, status: str) -> None:
        from nni_core.manager.state import ExperimentState
        from nni_core.manager.store import Store

        store = Store(os.path.join(experiment_dir, "db", "nni.sqlite"), readonly=True)
        try:
            self.state = ExperimentState(experiment_id, experiment_dir, "view")
            self.state.restore(store)
        finally:
            store.close()
        self.status = status

    def check_status(self, timeout: float | None = None) -> dict[str, Any]:
        return {"status": self.status, "errors": [], "ready": True}

    def profile(self) -> dict[str, Any] | None:
        return self.state.profile_json()

    def trials(self, status: str | None = None) -> list[dict[str, Any]]:
        return self.state.trial_jobs(status)

    def metrics(self, trial_id: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        return self.state.metric_data(trial_id, type)

    def export_data(self) -> list[dict[str, Any]]:
        return self.state.export_data()


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    text = response.text.strip()
    return f"HTTP {response.status_code}" + (f": {text[:200]}" if text else "")


def decode_metric(data: str) -> Any:
    """A metric record's ``data`` is the trial's value JSON-encoded twice (NNI's format)."""
    value = json.loads(data)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
