"""docs/plugins.md documents every hook with its exact signature and call semantics."""

from __future__ import annotations

import inspect
import re

import pytest
from tests.support import REPO_ROOT

from nni_core import hookspecs

DOC = (REPO_ROOT / "docs" / "plugins.md").read_text()
DOCUMENTED = {match["name"]: match["signature"]
              for match in re.finditer(r"^### `(?P<signature>(?P<name>\w+)\(.*)`$", DOC, flags=re.M)}
SPECS = {name: func for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(func, f"{hookspecs.PROJECT}_spec")}


def _signature(func) -> str:
    return f"{func.__name__}{inspect.signature(func)}".replace("'", "")


def test_no_hook_is_documented_that_does_not_exist() -> None:
    assert set(DOCUMENTED) == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_is_documented_with_its_exact_signature(name: str) -> None:
    assert DOCUMENTED.get(name) == _signature(SPECS[name])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_documents_how_it_is_called(name: str) -> None:
    section = DOC.split(f"### `{name}(", 1)[1].split("\n### ", 1)[0]
    firstresult = getattr(SPECS[name], f"{hookspecs.PROJECT}_spec")["firstresult"]
    assert ("First result" if firstresult else "Broadcast") in section
    assert SPECS[name].__doc__, f"{name} has no docstring in hookspecs.py"
