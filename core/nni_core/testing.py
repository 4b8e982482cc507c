"""Helpers for testing plugins, for nni-core's own tests and for plugin authors.

    from nni_core.testing import registered_plugins

    def test_my_platform_validates():
        with registered_plugins(my_plugin_module) as plugins:
            assert "myplatform" in plugins.platforms
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from nni_core.plugins import PluginSet, load_plugins, use_plugins


@contextlib.contextmanager
def registered_plugins(*plugins: object, installed: bool = True) -> Iterator[PluginSet]:
    """Make ``plugins`` part of the process-wide plugin set for the duration of the block.

    With ``installed=False`` only the built-ins and ``plugins`` are loaded, so a test sees
    nothing that happens to be installed beside it.
    """
    import os

    environ = dict(os.environ)
    if not installed:
        environ["NNI_CORE_PLUGINS"] = ""
    extra = [(getattr(p, "__name__", type(p).__name__), p) for p in plugins]
    plugin_set = load_plugins(extra=extra, environ=environ)
    use_plugins(plugin_set)
    try:
        yield plugin_set
    finally:
        use_plugins(None)
