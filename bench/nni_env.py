"""Locate (or create) the Python environment with NNI 3.0 that benchmarks compare against.

``NNI_PYTHON`` names its interpreter; when unset, ``.venv-nni30/`` at the repository root is
created once with ``pip install nni==3.0``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = REPO_ROOT / ".venv-nni30"


def nni_python() -> Path:
    """The interpreter of an environment where ``import nni`` gives NNI 3.0."""
    if os.environ.get("NNI_PYTHON"):
        return Path(os.environ["NNI_PYTHON"])
    python = DEFAULT_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {DEFAULT_VENV} with nni==3.0 (once)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(DEFAULT_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "nni==3.0"], check=True)
    return python


def nni_bin(name: str) -> Path:
    """A console script of that environment (``nnictl``)."""
    return nni_python().parent / name
