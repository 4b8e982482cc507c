"""Loading every plugin stays cheap: no config classes, no manager, no heavy library imported.

Each probe runs twice: the first run may scan the installed distributions (and cache the scan),
the second must not need to.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["nni_core.config", "nni_core.manager", "nni_core.launch", "yaml", "starlette", "optuna", "ray",
         "asyncssh", "asyncio", "attrs", "requests", "importlib.metadata"]


def _imported_after(probe: str) -> list[str]:
    script = f"import json, sys\n{probe}\nprint('IMPORTED', json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60).stdout
    return json.loads(out.rsplit("IMPORTED ", 1)[1])


def test_loading_every_plugin_imports_nothing_heavy() -> None:
    probe = "from nni_core.plugins import load_plugins\nassert len(load_plugins().platforms) >= 9"
    assert _imported_after(probe) == []


def test_help_imports_nothing_heavy() -> None:
    probe = ("import runpy\nsys.argv = ['nni-core', '--help']\n"
             "try:\n    runpy.run_module('nni_core', run_name='__main__')\nexcept SystemExit:\n    pass")
    assert _imported_after(probe) == []
