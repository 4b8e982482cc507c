"""Loading every plugin stays cheap: no config classes, no manager, no heavy library imported."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["nni_core.config", "nni_core.manager", "nni_core.launch", "yaml", "starlette", "optuna", "ray",
         "asyncssh", "asyncio"]


def test_loading_every_plugin_imports_nothing_heavy() -> None:
    probe = ("import json, sys; from nni_core.plugins import load_plugins; p = load_plugins(); "
             f"print(json.dumps([len(p.platforms), [m for m in {HEAVY!r} if m in sys.modules]]))")
    platforms, imported = json.loads(subprocess.run([sys.executable, "-c", probe], check=True,
                                                    capture_output=True, text=True).stdout)
    assert platforms >= 9
    assert imported == []


def test_help_imports_nothing_heavy() -> None:
    probe = ("import runpy, sys\nsys.argv = ['nni-core', '--help']\n"
             "try:\n    runpy.run_module('nni_core', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             f"print('IMPORTED', [m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    assert "IMPORTED []" in out
