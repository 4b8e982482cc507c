"""Fixtures for the dashboard's browser tests: a real manager process and Debian's Chromium.

The manager is started the way the launcher starts it (``python -m nni_core.manager --port 0``),
its address read from ``manager.json``, and the experiment submitted with ``POST /experiment``.
Playwright drives ``/usr/bin/chromium`` (installed by scripts/system-deps.sh); no browser is
downloaded. Screenshots go to ``artifacts/screenshots/`` (see README).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from nni_core.client import ManagerClient
from tests.support import REPO_ROOT, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"

# A trial in NNI's own SDK: three intermediate results, then a final one that depends on x and n.
TRIAL = """\
import os, time, nni
p = nni.get_next_parameter()
for i in range(3):
    time.sleep(float(os.environ.get("DASH_TRIAL_STEP", "0.3")))
    nni.report_intermediate_result(round(p["x"] * (i + 1) / 3, 6))
print("trial says hello", p)
nni.report_final_result(round(p["x"] + 0.05 * p["n"], 6))
"""




class Manager:
    """One ``python -m nni_core.manager`` process."""

    def __init__(self, experiments_dir: Path, experiment_id: str, action: str, url_prefix: str = "",
                 env: dict[str, str] | None = None) -> None:
        self.dir = experiments_dir / experiment_id
        info = self.dir / "manager.json"
        if info.exists():
            info.unlink()
        command = [sys.executable, "-m", "nni_core.manager", "--port", "0", "--experiment-id", experiment_id,
                   "--action", action, "--experiments-directory", str(experiments_dir), "--log-level", "info"]
        if url_prefix:
            command += ["--url-prefix", url_prefix]
        self.proc = subprocess.Popen(command, env={**os.environ, **(env or {})},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: info.exists() or self.proc.poll() is not None, 30, "manager.json")
        if self.proc.poll() is not None:
            raise AssertionError(f"manager exited with {self.proc.returncode}: {self.proc.stderr.read()}")
        self.url = json.loads(info.read_text())["url"]
        self.client = ManagerClient(self.url)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def start_manager(tmp_path: Path) -> Iterator[Callable[..., Manager]]:
    """Start managers on experiments under ``tmp_path/exps``; all are stopped at the end."""
    started: list[Manager] = []

    def start(experiment_id: str, action: str, url_prefix: str = "", **kw: Any) -> Manager:
        manager = Manager(tmp_path / "exps", experiment_id, action, url_prefix, **kw)
        started.append(manager)
        return manager

    yield start
    for manager in started:
        manager.stop()


def experiment_config(code_dir: Path, concurrency: int, max_trials: int) -> dict[str, Any]:
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "trial.py").write_text(TRIAL)
    command = f"{sys.executable} trial.py"
    return {
        "experimentName": "dashboard-test",
        "searchSpace": {"x": {"_type": "uniform", "_value": [0, 1]}, "n": {"_type": "choice", "_value": [1, 2, 3]}},
        "trialCommand": command, "trialCodeDirectory": str(code_dir),
        "trialConcurrency": concurrency, "maxTrialNumber": max_trials,
        "tuner": {"name": "Random", "classArgs": {"optimize_mode": "maximize", "seed": 7}},
        "trainingService": {"platform": "local", "trialCommand": command, "trialCodeDirectory": str(code_dir)},
    }


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# while it is open, which would break asyncio.run() in modules that a worker runs afterwards.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps.sh (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Page:
    """A browser tab that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"dashboard-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    page = Page(browser)
    yield page
    page.context.close()  # closing twice is harmless
