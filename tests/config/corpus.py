"""Reading NNI's config corpus and its golden outputs (``../shared/corpus/nni``, see its README).

The golden files were made by real NNI 3.0 with HOME set to a temp folder holding an empty
``.ssh/id_rsa`` and paths written as placeholders (``${CONFIG_ROOT}``, ``${HOME}``, ``${CWD}``,
``${CASE_DIR}``). ``${IPV4}`` and ``${ADDR}`` occur only in NNI's log lines and error texts, which
these tests do not compare (our messages differ on purpose), so they need no substitution.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support import CORPUS

CONFIGS = CORPUS / "configs"
EXPECTED = CORPUS / "expected"
COMPATIBILITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "compatibility.md"


def corpus_available() -> bool:
    return (EXPECTED / "_summary.json").is_file()


needs_corpus = pytest.mark.skipif(not corpus_available(), reason=f"NNI config corpus not found at {CORPUS}")


def summary_rows() -> list[dict]:
    if not corpus_available():
        return []
    return json.loads((EXPECTED / "_summary.json").read_text())["configs"]


def expected_for(rel: str) -> dict:
    return json.loads((EXPECTED / f"{rel}.json").read_text())


def edge_cases() -> dict[str, dict]:
    if not corpus_available():
        return {}
    return json.loads((EXPECTED / "_edge_cases.json").read_text())["cases"]


def placeholder_pairs(folders: dict[str, Path | str]) -> list[tuple[str, str]]:
    """(path, placeholder) pairs, literal and realpath forms, longest first (as the corpus did)."""
    pairs = []
    for name, folder in folders.items():
        for form in {str(folder), os.path.realpath(folder)}:
            pairs.append((form, name))
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def substitute(obj: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(obj, str):
        for old, new in pairs:
            obj = obj.replace(old, new)
        return obj
    if isinstance(obj, dict):
        return {substitute(k, pairs): substitute(v, pairs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [substitute(v, pairs) for v in obj]
    return obj


def write_case(case: dict, folder: Path) -> Path:
    """Lay an edge case's input files out in ``folder``; returns its config.yml."""
    for rel, text in case["files"].items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("${CONFIG_ROOT}", str(CONFIGS)), encoding="utf-8")
    return folder / "config.yml"


def documented_deviations() -> set[str]:
    """The files/cases listed in docs/compatibility.md's table of config differences."""
    names = set()
    in_table = False
    for line in COMPATIBILITY_DOC.read_text().splitlines():
        if line.startswith("## "):
            in_table = line.strip() == "## Config verdicts and canonical JSON"
            continue
        if in_table and line.startswith("| `"):
            names.add(line.split("`")[1])
    return names
