"""Malformed annotations: one line on stderr naming the file and line, exit status 2.

The cases run ``nni_core.cli.main`` in this process (what the ``nni-core`` script runs); one
test runs the real command in a subprocess.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from nni_core.cli import main

from tests.support import run_cli


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> SimpleNamespace:
    returncode = main(list(args))
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=returncode, stdout=out, stderr=err)

CASES = {
    "bad_function": ("x = 1\n'''@nni.varaible(nni.choice(1, 2), name=x)'''\nx = 2\n", 2,
                     "unknown annotation @nni.varaible"),
    "unparsable_expression": ("'''@nni.variable(nni.choice(1, 2, name=x)'''\nx = 2\n", 1,
                              "cannot parse annotation"),
    "unknown_sampling_type": ("def f():\n    '''@nni.variable(nni.choise(1, 2), name=x)'''\n    x = 2\n", 2,
                              "unknown sampling function nni.choise"),
    "no_annotated_statement": ("x = 1\n'''@nni.variable(nni.choice(1, 2), name=x)'''\n", 2,
                               "annotation has no statement after it"),
    "wrong_target": ("'''@nni.variable(nni.choice(1, 2), name=x)'''\ny = 2\n", 1,
                     "names x but the next line assigns y"),
    "non_literal_range": ("low = 0\n'''@nni.variable(nni.uniform(low, 1), name=x)'''\nx = 2\n", 2,
                          "must be number literals, got low"),
    "candidate_not_called": ("'''@nni.function_choice(f(a), g(a), name=f)'''\ny = h(a)\n", 1,
                             "calls none of its candidates"),
    "not_a_call": ("\"\"\"@nni.report_final_result\"\"\"\n", 1, "is not a call such as"),
    "not_python": ("'''@nni.report_final_result(1)'''\nprint 'hello'\n", 2, "not valid Python"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_annotation_is_one_line_with_file_and_line(tmp_path: Path, case: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, line, message = CASES[case]
    trial = tmp_path / "trial"
    (trial / "sub").mkdir(parents=True)
    (trial / "fine.py").write_text("'''@nni.variable(nni.choice(1, 2), name=ok)'''\nok = 1\n")
    (trial / "sub" / "bad.py").write_text(textwrap.dedent(code))
    result = cli(capsys, "ss-gen", "--trial-dir", str(trial))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"nni-core: error: {trial / 'sub' / 'bad.py'}:{line}: "), lines[0]
    assert message in lines[0]


def test_error_in_hand_written_call_names_the_users_file(tmp_path: Path) -> None:
    """The real command, in a subprocess: no traceback, one line."""
    (tmp_path / "trial.py").write_text("import nni\n\nx = nni.choice({1: 1}, name=x_name)\n")
    result = run_cli("ss-gen", "--trial-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"nni-core: error: {tmp_path / 'trial.py'}:3: "
                                     "the name of nni.choice must be a string literal")


def test_missing_trial_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(capsys, "ss-gen", "--trial-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"nni-core: error: trial code directory {tmp_path / 'nowhere'} "
                                          "does not exist or is not a folder"]
