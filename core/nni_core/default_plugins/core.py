"""The core's own plugin: the manager launcher ``embedded`` and the default request body.

Registered like any plugin (see ``nni_core.plugins.DEFAULT_PLUGINS``) so the pipeline treats
the core's answers and third parties' the same way.
"""

from __future__ import annotations
