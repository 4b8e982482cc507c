"""Collecting what is wrong with a config, so the user sees every problem at once.

A ``Problem`` is one line: ``path.to.field: what is wrong (got X; expected Y)``. Checks add to a
``Problems`` collector instead of raising, so one run reports all of them; ``ConfigError`` carries
the collection out of ``load_config`` when any problem was found.
"""

from __future__ import annotations

from typing import Any, Iterator

import attrs

from nni_core.errors import UsageError

_UNSET = object()


def show(value: Any) -> str:
    """A value as the user wrote it, short enough for one line."""
    if isinstance(value, str):
        text = repr(value)
    elif value is None:
        text = "null"
    elif value is True or value is False:
        text = "true" if value else "false"
    else:
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


@attrs.frozen
class Problem:
    path: str
    message: str
    got: Any = _UNSET
    expected: str | None = None

    def __str__(self) -> str:
        details = []
        if self.got is not _UNSET:
            details.append(f"got {show(self.got)}")
        if self.expected:
            details.append(f"expected {self.expected}")
        suffix = f" ({'; '.join(details)})" if details else ""
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message}{suffix}"


@attrs.define
class Problems:
    """Problems (errors) and warnings found while loading and validating one config."""

    items: list[Problem] = attrs.Factory(list)
    warnings: list[str] = attrs.Factory(list)

    def add(self, path: str, message: str, got: Any = _UNSET, expected: str | None = None) -> None:
        problem = Problem(path, message, got, expected)
        if problem not in self.items:  # the same check reached twice (e.g. shared shortcut fields)
            self.items.append(problem)

    def warn(self, path: str, message: str) -> None:
        line = f"{path}: {message}" if path else message
        if line not in self.warnings:
            self.warnings.append(line)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def lines(self) -> list[str]:
        return [str(p) for p in self.items]

    def raise_if_any(self, source: str = "") -> None:
        if self.items:
            raise ConfigError(self.items, source=source, warnings=self.warnings)


class ConfigError(UsageError):
    """A config that cannot be used; ``problems`` holds one ``Problem`` per line."""

    def __init__(self, problems: list[Problem], source: str = "", warnings: list[str] | None = None):
        self.problems = list(problems)
        self.source = source
        self.warnings = list(warnings or [])
        super().__init__(self._summary())

    def _summary(self) -> str:
        where = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return f"{where}{self.problems[0]}"
        return f"{where}{len(self.problems)} problems: " + "; ".join(str(p) for p in self.problems)

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]
