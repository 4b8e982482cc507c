"""nni-core: run NNI experiment configs on a small, plugin-based launcher and manager.

The public API for tools that embed the pipeline lives here; ``nni_core.hookimpl`` marks a
plugin's hook implementations.
"""

from nni_core.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
