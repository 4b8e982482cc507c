"""Fixtures shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own NNI_CORE_HOME, so no test sees another's experiments."""
    home = tmp_path_factory.mktemp("nni-core-home")
    monkeypatch.setenv("NNI_CORE_HOME", str(home))
    return home
