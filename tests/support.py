"""Helpers shared by the test modules: ``from tests.support import run_cli``."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "nni"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120, python: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``nni-core ARGS`` in a subprocess, as a user would."""
    command = [python or sys.executable, "-m", "nni_core", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def make_venv_beside_nni_core(path: Path) -> Path:
    """A fresh virtual environment that sees nni-core and its plugins, but owns its own packages.

    Installing into it with pip is what a user installing a third-party plugin does; linking the
    test environment's site-packages (a .pth file) saves reinstalling nni-core's dependencies.
    Returns the venv's python.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # "import" lines in a .pth run at start-up; addsitedir also runs the editable installs' .pth files.
    Path(site, "_nni_core_test_env.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n"
    )
    return python


def pip_install(python: Path, *args: str) -> None:
    """pip install into another environment, using this environment's pip."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--disable-pip-version-check", "--no-deps", "--no-build-isolation", *args],
                   check=True, capture_output=True, text=True)


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "condition",
             interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy and return that; fail after ``timeout``.

    Connection errors and half-written files count as "not yet" (a server starting, a file being
    replaced); the last one is shown if the wait times out.
    """
    import requests

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (requests.RequestException, OSError, ValueError, KeyError) as error:
            last_error, value = error, None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f" ({last_error})" if last_error else ""))
