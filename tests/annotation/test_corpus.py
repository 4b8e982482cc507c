"""NNI's own annotation test cases (../shared/corpus/nni/annotation), case by case.

NNI's test_annotation.py checked three things at its last commit: the expanded usercode/ equals
annotated/ (as parsed Python), the search space of annotated/ equals searchspace.json, and a
folder without annotations is not expanded. The same here, one test per file and per module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nni_plugin_annotation.expand import expand_tree
from nni_plugin_annotation.search_space import generate_search_space

from tests.annotation.compare import TESTCASE, files_under, load_json, normalized_dump, runtime_files

EXPANDED_CASES = ["mnist.py", "nas.py", "dir/simple.py"]
EXPECTED_SPACE = load_json(TESTCASE / "searchspace.json") if TESTCASE.is_dir() else {}
SPACE_MODULES = sorted({key.split("/")[0] for key in EXPECTED_SPACE})

pytestmark = pytest.mark.skipif(not TESTCASE.is_dir(), reason=f"corpus not found at {TESTCASE}")


@pytest.fixture(scope="module")
def expanded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    dst = tmp_path_factory.mktemp("expanded") / "code"
    return dst, expand_tree(str(TESTCASE / "usercode"), str(dst), nas_mode="classic_mode")


@pytest.fixture(scope="module")
def annotated_space(tmp_path_factory: pytest.TempPathFactory) -> dict:
    copy = tmp_path_factory.mktemp("annotated") / "code"
    shutil.copytree(TESTCASE / "annotated", copy)  # the generator writes keys into the files
    return generate_search_space(str(copy))


@pytest.mark.parametrize("name", EXPANDED_CASES)
def test_expanded_code_equals_nni_expected(expanded: tuple[Path, list[str]], name: str) -> None:
    dst, _ = expanded
    ours = normalized_dump((dst / name).read_text())
    assert ours == normalized_dump((TESTCASE / "annotated" / name).read_text())


def test_only_annotated_files_are_expanded(expanded: tuple[Path, list[str]]) -> None:
    dst, expanded_files = expanded
    assert sorted(expanded_files) == sorted(EXPANDED_CASES)
    assert runtime_files(dst) == {"_nni_annotation.py", "dir/_nni_annotation.py"}
    assert files_under(dst) - runtime_files(dst) == files_under(TESTCASE / "usercode")
    for name in ("nonpy.txt", "non_annotation/foo.py", "non_annotation/bar.py"):
        assert (dst / name).read_bytes() == (TESTCASE / "usercode" / name).read_bytes(), name


def test_folder_without_annotations_is_not_expanded(tmp_path: Path) -> None:
    src = TESTCASE / "usercode" / "non_annotation"
    assert expand_tree(str(src), str(tmp_path / "code")) == []
    assert runtime_files(tmp_path / "code") == set()


@pytest.mark.parametrize("module", SPACE_MODULES)
def test_search_space_equals_nni_expected(annotated_space: dict, module: str) -> None:
    ours = {k: v for k, v in annotated_space.items() if k.split("/")[0] == module}
    expected = {k: v for k, v in EXPECTED_SPACE.items() if k.split("/")[0] == module}
    assert ours == expected


def test_whole_search_space_equals_nni_expected(annotated_space: dict) -> None:
    assert annotated_space == EXPECTED_SPACE


def test_search_space_from_user_code(tmp_path: Path) -> None:
    """usercode/ expanded then generated: searchspace.json less the hand-written module."""
    dst = tmp_path / "code"
    expand_tree(str(TESTCASE / "usercode"), str(dst), nas_mode="classic_mode")
    expected = {k: v for k, v in EXPECTED_SPACE.items() if not k.startswith("handwrite/")}
    assert generate_search_space(str(dst)) == expected
