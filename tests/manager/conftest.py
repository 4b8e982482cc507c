"""Fixtures of the manager tests: a manager factory that never leaks processes."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.manager.harness import Manager


@pytest.fixture
def manager_factory(tmp_path: Path) -> Iterator[Callable[..., Manager]]:
    started: list[Manager] = []

    def make(experiment_id: str = "exp1", env: dict[str, str] | None = None) -> Manager:
        manager = Manager(tmp_path, experiment_id, env)
        started.append(manager)
        return manager

    yield make
    for manager in started:
        try:
            manager.stop(timeout=10)
        except Exception:  # noqa: BLE001 - teardown must reach every process
            manager.kill()


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    path = tmp_path / "code"
    path.mkdir()
    return path
