"""Differential test against the real NNI 2.10.1 (``nni.tools.annotation``).

Every annotated example of the corpus and the trial code written for these tests goes through
NNI's ``expand_annotations`` + ``generate_search_space`` and through ours: the search spaces must be
equal, and the expanded files equal as parsed Python both after expansion and after the generator
wrote its keys (the only normalization: our ``import _nni_annotation as nni`` is read as
``import nni``, see compare.py). Where NNI rejects the code, we must reject it too, naming the file.
NNI 2.10.1 lives in its own environment, made by scripts/nni210-venv.sh on first use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from nni_core.errors import UsageError
from nni_plugin_annotation.expand import expand_tree
from nni_plugin_annotation.search_space import generate_search_space

from tests.annotation.compare import DATA, EXAMPLES, TESTCASE, load_json, tree_differences
from tests.support import REPO_ROOT

# Small trials for the corners of the expander, one file each.
SINGLE_FILES = {
    "future_and_docstring": '''
        """Module docstring first: NNI's import goes after the __future__ imports."""
        from __future__ import annotations
        import os
        """@nni.variable(nni.choice(1, 2), name=n)"""
        n = 1
        """@nni.report_final_result(n)"""
        ''',
    "docstring_without_future": '''
        """The import goes before this docstring, as NNI did."""
        """@nni.variable(nni.uniform(0, 1), name=x)"""
        x = 0.5
        ''',
    "targets": '''
        cfg = {}
        class Model:
            """@nni.variable(nni.choice('a', 'b'), name=kind)"""
            kind = 'a'
            def __init__(self):
                """@nni.variable(nni.randint(1, 5), name=self.layers)"""
                self.layers = 2
        """@nni.variable(nni.quniform(0, 1, 0.1), name=cfg['lr'])"""
        cfg['lr'] = 0.1
        ''',
    "function_choice_places": '''
        def relu(x): return x
        def tanh(x): return x
        def net(x, y):
            """@nni.function_choice(relu(x), tanh(x), name=act)"""
            return relu(x) + relu(y)
        def wrapped(x):
            """@nni.function_choice(relu(x), tanh(x), name=act2)"""
            y = [relu(x), {'k': relu(x) * 2}]
        ''',
    "long_lines_move_unnamed_keys": '''
        import nni
        # comments and blank lines vanish in the expanded file; long lines get wrapped


        """@nni.variable(nni.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], [1], {'key': 'value', 'other': ['a', 'b', 'c', 'd', 'e']}), name=big)"""
        big = [1]
        a = nni.uniform(1, 2)
        b = nni.choice({'x': 1, 'y': 2})
        c = nni.qlognormal(1.2, 3, 4.5)
        """@nni.report_intermediate_result(a)"""
        ''',
    "same_name_twice": '''
        for i in range(3):
            """@nni.variable(nni.choice(1, 2), name=k)"""
            k = 1
        """@nni.variable(nni.choice(1, 2), name=k)"""
        k = 2
        ''',
    "mutable_layers": '''
        def a(): pass
        def b(): pass
        def main(x):
            """@nni.mutable_layers(
            {
                layer_choice: [a(), b()],
                fixed_inputs: [x],
                optional_inputs: [x],
                optional_input_size: [0, 1],
                layer_output: out
            })"""
            return out
        ''',
    "control_flow": '''
        import asyncio
        def deco(f): return f
        def relu(v): return v
        @deco
        def outer(n):
            def inner(v):
                """@nni.variable(nni.qnormal(0, 1, 0.5), name=inner_v)"""
                inner_v = v
                return inner_v
            total = 0
            while n > 0:
                n -= 1
                """@nni.function_choice(relu(n), abs(n), name=step)"""
                total += relu(n)
            else:
                """@nni.variable(nni.lognormal(0, 1), name=tail)"""
                tail = 0
            return total + inner(tail)
        async def run(a):
            """@nni.variable(nni.choice(1, 1, 2), name=a.b.c)"""
            a.b.c = 1
            await asyncio.sleep(0)
            """@nni.report_final_result({'default': a.b.c, 'extra': [1, 2]})"""
        ''',
    # both must reject these
    "reject_no_target": '''
        x = 1
        """@nni.variable(nni.choice(1, 2), name=x)"""
        ''',
    "reject_wrong_name": '''
        """@nni.variable(nni.choice(1, 2), name=x)"""
        y = 1
        ''',
    "reject_two_named_different": '''
        """@nni.variable(nni.choice(1, 2), name=k)"""
        k = 1
        """@nni.variable(nni.choice(1, 3), name=k)"""
        k = 2
        ''',
    "reject_non_literal_range": '''
        low = 1
        """@nni.variable(nni.uniform(low, 2), name=x)"""
        x = 1
        ''',
}

CASES = {
    "corpus/testcase/usercode": TESTCASE / "usercode",
    "corpus/testcase/annotated": TESTCASE / "annotated",
    "corpus/examples/mnist_with_annotation": EXAMPLES / "mnist_with_annotation.py",
    "corpus/examples/mnist_without_annotation": EXAMPLES / "mnist_without_annotation.py",
    "data/rich": DATA / "rich",
    **{f"single/{name}": name for name in SINGLE_FILES},
}


def _source_dir(case: str, root: Path) -> Path:
    """The case's trial folder: a corpus/data folder, or a fresh folder holding one file."""
    source = CASES[case]
    if isinstance(source, Path) and source.is_dir():
        return source
    folder = root / "src" / case.replace("/", "_")
    folder.mkdir(parents=True)
    if isinstance(source, Path):
        shutil.copyfile(source, folder / source.name)
    else:
        (folder / f"{source}.py").write_text(textwrap.dedent(SINGLE_FILES[source]).lstrip("\n"))
    return folder


@pytest.fixture(scope="module")
def nni210(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Runs NNI 2.10.1 on every case once; returns case → (source folder, NNI's output folder)."""
    found = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "nni210-venv.sh")], capture_output=True,
                           text=True, timeout=900)
    assert found.returncode == 0, f"cannot set up NNI 2.10.1:\n{found.stderr[-3000:]}"
    python = found.stdout.strip().splitlines()[-1]
    root = tmp_path_factory.mktemp("nni210")
    cases, argv = {}, []
    for case in CASES:
        src, out = _source_dir(case, root), root / "out" / case.replace("/", "_")
        out.mkdir(parents=True)
        cases[case] = (src, out)
        argv += [str(src), str(out)]
    env = {**os.environ, "HOME": str(root)}  # NNI writes under ~ on import
    env.pop("NNI_PLATFORM", None)
    driver = Path(__file__).with_name("nni210_driver.py")
    done = subprocess.run([python, str(driver), *argv], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return cases


@pytest.mark.parametrize("case", list(CASES))
def test_same_as_nni_2_10_1(nni210: dict[str, tuple[Path, Path]], case: str, tmp_path: Path) -> None:
    src, out = nni210[case]
    verdict = load_json(out / "result.json")
    expanded, generated = tmp_path / "expanded", tmp_path / "generated"
    try:
        expand_tree(str(src), str(expanded), nas_mode="classic_mode")
        shutil.copytree(expanded, generated)
        space = generate_search_space(str(generated))
    except UsageError as error:
        assert "error" in verdict, f"NNI accepted this code, we said: {error}"
        assert str(src) in str(error) or str(generated) in str(error)
        return
    assert "error" not in verdict, f"NNI rejected this code ({verdict['error']}), we accepted it"
    assert space == verdict["search_space"]
    assert tree_differences(expanded, out / "expanded") == []
    assert tree_differences(generated, out / "generated") == []
