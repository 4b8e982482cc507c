"""Comparing expanded trial code as parsed Python, and where the test data lives.

The one normalization: our expanded files import the runtime as ``import _nni_annotation as nni``
where NNI 2.x wrote ``import nni`` (same position, same single line); ``normalized_dump`` turns
that top-level statement back into ``import nni``. Nothing else is changed: positions are not part
of ``ast.dump``, every other node and string (choice labels, keys) must be equal.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

from tests.support import CORPUS

from nni_plugin_annotation.expand import RUNTIME_MODULE

ANNOTATION = CORPUS / "annotation" / "test" / "ut" / "tools" / "annotation"
TESTCASE = ANNOTATION / "testcase"
EXAMPLES = ANNOTATION / "examples"
DATA = Path(__file__).resolve().parent / "data"

#: The search space of data/e2e/trial.py.
E2E_SPACE = {
    "trial/x/choice": {"_type": "choice", "_value": [1, 2, 3]},
    "trial/y/uniform": {"_type": "uniform", "_value": [0.0, 1.0]},
    "trial/op/function_choice": {"_type": "choice", "_value": ["square(x)", "cube(x)"]},
}


def normalized_dump(code: str) -> str:
    tree = ast.parse(code)
    for i, node in enumerate(tree.body):
        if (isinstance(node, ast.Import) and len(node.names) == 1
                and node.names[0].name == RUNTIME_MODULE and node.names[0].asname == "nni"):
            tree.body[i] = ast.Import(names=[ast.alias(name="nni")])
    return ast.dump(tree)


def files_under(folder: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), folder) for d, _, files in os.walk(folder) for f in files
            if "__pycache__" not in d}


def runtime_files(folder: Path) -> set[str]:
    """Our runtime copies: the only files we add to a tree."""
    return {f for f in files_under(folder) if os.path.basename(f) == RUNTIME_MODULE + ".py"}


def tree_differences(ours: Path, theirs: Path) -> list[str]:
    """What differs between two expanded trees: .py files as parsed Python, others byte for byte."""
    problems = []
    our_files = files_under(ours) - runtime_files(ours)
    their_files = files_under(theirs)
    for missing in sorted(their_files - our_files):
        problems.append(f"{missing}: missing")
    for extra in sorted(our_files - their_files):
        problems.append(f"{extra}: not in the expected tree")
    for name in sorted(our_files & their_files):
        a, b = (ours / name).read_bytes(), (theirs / name).read_bytes()
        if name.endswith(".py"):
            if normalized_dump(a.decode()) != normalized_dump(b.decode()):
                problems.append(f"{name}: different code")
        elif a != b:
            problems.append(f"{name}: different bytes")
    return problems


def load_json(path: Path) -> object:
    return json.loads(path.read_text())


def digest(folder: Path) -> dict[str, str]:
    """File → sha256 of everything under ``folder``: to show a folder was not written."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in files_under(folder)}
