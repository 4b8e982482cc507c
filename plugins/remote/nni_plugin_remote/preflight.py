"""Launch-time check of ``platform: remote`` machines, before any trial starts.

Implements ``configure_platform``: every machine of ``machineList`` is connected to (host key
checked against ~/.ssh/known_hosts), authenticated and asked for its Python, all at once. Each
machine that cannot be used gives one line (what, which machine, what to do) and the launch
stops with exit status 2.
"""

from __future__ import annotations

from typing import Any

from nni_core import hookimpl
from nni_core.errors import UsageError


def remote_sections(config_json: dict[str, Any]) -> list[dict[str, Any]]:
    services = config_json.get("trainingService") or []
    if isinstance(services, dict):
        services = [services]
    return [s for s in services if isinstance(s, dict) and s.get("platform") == "remote"]


@hookimpl
def configure_platform(launch):
    if "remote" not in launch.platforms or launch.readonly:
        return
    import asyncio  # here, not at the top: every CLI start loads this module

    from nni_plugin_remote.connection import MachineSpec, check_machines

    specs = [MachineSpec.from_config(m) for s in remote_sections(launch.config_json)
             for m in s.get("machineList") or []]
    problems = asyncio.run(check_machines(specs))
    if problems:
        raise UsageError("\n".join(problems))
