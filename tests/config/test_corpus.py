"""Every config of NNI's corpus and every edge case, against what real NNI 3.0 did with it.

Same verdict (valid or not) for all; for valid ones the same canonical JSON as NNI's
``ExperimentConfig.json()`` (or, for configs kept as v1, the same validated v1 dict), and the same
JSON again after a resume round trip. Where nni-core differs on purpose, the file is listed in
docs/compatibility.md and its test asserts what nni-core does instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from nni_core.config import ConfigError, canonical_json, config_from_json, load_config
from nni_core.plugins import load_plugins
from tests.config.corpus import (
    CONFIGS,
    documented_deviations,
    edge_cases,
    expected_for,
    needs_corpus,
    placeholder_pairs,
    substitute,
    summary_rows,
    write_case,
)

# Where nni-core decides differently from NNI 3.0, on purpose (docs/compatibility.md says why).
ANNOTATION, HYBRID, HYBRID_V1, TEXT_NUMBER, EMPTY_CHOICE, MAX_TRIAL_DURATION = (
    "annotation", "hybrid", "hybrid-v1", "text-number", "empty-choice", "max-trial-duration")
CORPUS_DEVIATIONS = {
    "examples/trials/kaggle-tgs-salt/config.yml": ANNOTATION,
    "examples/trials/kaggle-tgs-salt/config_windows.yml": ANNOTATION,
    "examples/trials/mnist-pytorch/config_hybrid.yml": HYBRID,
    "examples/trials/mnist-tfv1/config_hybrid_v2.yml": HYBRID,
    "examples/trials/mnist-tfv1/config_hybrid.yml": HYBRID_V1,
}
EDGE_DEVIATIONS = {
    "ss_annotation_only": ANNOTATION,
    "v2_hybrid_no_ip": HYBRID,
    "ss_yaml_sci": TEXT_NUMBER,
    "ss_asset_ss_yaml12.yaml": TEXT_NUMBER,
    "v1_ss_empty_value": EMPTY_CHOICE,
    "v1_durations": MAX_TRIAL_DURATION,
}

LINE = re.compile(r"^(\S[^\n]*: )?[^\n]+$")


@attrs.frozen
class Outcome:
    valid: bool
    route: str | None = None
    canonical: Any = None
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    config: Any = None


@pytest.fixture(scope="module")
def plugins() -> object:
    """Every installed plugin, loaded once for these tests (not the process-wide set others may swap)."""
    return load_plugins(environ={})


@pytest.fixture()
def nni_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The environment the corpus was made in: a HOME holding only an empty .ssh/id_rsa, an empty cwd."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    return {"${HOME}": home, "${CWD}": cwd, "${CONFIG_ROOT}": CONFIGS}


def evaluate(path: Path, folders: dict[str, Any], plugins: object) -> Outcome:
    try:
        loaded = load_config(path, plugins)
    except ConfigError as error:
        return Outcome(False, lines=tuple(error.lines()), warnings=tuple(error.warnings))
    canonical = substitute(loaded.canonical(), placeholder_pairs(folders))
    return Outcome(True, loaded.route, canonical, warnings=loaded.warnings, config=loaded.config)


def assert_same_as_nni(outcome: Outcome, expected: dict) -> None:
    assert outcome.valid == expected["valid"], (outcome.lines, expected["error"])
    if outcome.valid:
        assert outcome.route == expected["route"]
        assert outcome.canonical == expected["canonical"]
    else:
        assert outcome.lines, "an invalid config must say why"
        assert all(LINE.match(line) for line in outcome.lines), outcome.lines


def assert_round_trip(outcome: Outcome, plugins: object) -> None:
    """resume/view rebuild the config from its canonical JSON; nothing may change."""
    if outcome.config is None:
        return
    canonical = canonical_json(outcome.config)
    assert canonical_json(config_from_json(json.loads(json.dumps(canonical)), plugins)) == canonical


def assert_deviation(kind: str, outcome: Outcome, expected: dict, name: str, plugins: object) -> None:
    if kind == ANNOTATION:
        # NNI 3.0 refuses annotations; nni-core supports them (annotation plugin). The canonical
        # JSON is the one NNI computed before refusing.
        assert outcome.valid, outcome.lines
        assert expected["canonical"] is not None and outcome.canonical == expected["canonical"]
        assert outcome.config.use_annotation
    elif kind == HYBRID:
        # NNI 3.0 crashes ('list' object has no attribute 'platform') on a trainingService list
        # without nniManagerIp; nni-core accepts it and warns per platform that needs the address.
        assert outcome.valid, outcome.lines
        assert [ts["platform"] for ts in outcome.canonical["trainingService"]] == expected["platform"]
        assert "nniManagerIp" not in outcome.canonical
        remote = [i for i, p in enumerate(expected["platform"]) if p != "local"]
        for i in remote:
            assert any(w.startswith(f"trainingService[{i}]: nniManagerIp is not set") for w in outcome.warnings)
    elif kind == HYBRID_V1:
        # NNI 3.0's converter asserts (empty message) on v1 hybrid; nni-core converts each member
        # with its platform's converter, giving exactly the v2 file NNI ships beside it.
        assert outcome.valid and outcome.route == "v1-converted", outcome.lines
        v2_twin = load_config(CONFIGS / "examples/trials/mnist-tfv1/config_hybrid_v2.yml", plugins)
        assert canonical_json(outcome.config) == v2_twin.canonical()
    elif kind == TEXT_NUMBER:
        # PyYAML reads 1e-7 as a string; NNI accepts it and its tuner fails at run time.
        assert not outcome.valid
        assert any("_value[0]: is a string, not a number" in line and "1.0e-7" in line for line in outcome.lines)
    elif kind == EMPTY_CHOICE:
        # A choice without options: NNI accepts it and its tuner fails when it samples.
        assert not outcome.valid
        assert outcome.lines == ("searchSpaceFile.x._value: choice has no options (got []; expected a non-empty list)",)
    elif kind == MAX_TRIAL_DURATION:
        # NNI drops v1 maxTrialDuration silently; nni-core carries it over.
        assert outcome.valid
        assert outcome.canonical == {**expected["canonical"], "maxTrialDuration": "10m"}
    else:  # pragma: no cover
        raise AssertionError(f"unknown deviation {kind} for {name}")


@needs_corpus
def test_deviations_are_documented() -> None:
    assert documented_deviations() == set(CORPUS_DEVIATIONS) | set(EDGE_DEVIATIONS)


@needs_corpus
def test_corpus_counts() -> None:
    rows = summary_rows()
    assert len(rows) == 148 and len(edge_cases()) == 67


@needs_corpus
@pytest.mark.parametrize("rel", [row["file"] for row in summary_rows()])
def test_corpus_config(rel: str, nni_env: dict[str, Path], plugins: object) -> None:
    expected = expected_for(rel)
    outcome = evaluate(CONFIGS / rel, nni_env, plugins)
    kind = CORPUS_DEVIATIONS.get(rel)
    if kind:
        assert_deviation(kind, outcome, expected, rel, plugins)
    else:
        assert_same_as_nni(outcome, expected)
    assert_round_trip(outcome, plugins)


@needs_corpus
@pytest.mark.parametrize("name", sorted(edge_cases()))
def test_edge_case(name: str, nni_env: dict[str, Path], tmp_path: Path, plugins: object) -> None:
    case = edge_cases()[name]
    case_dir = tmp_path / "case"
    config = write_case(case, case_dir)
    outcome = evaluate(config, {**nni_env, "${CASE_DIR}": case_dir}, plugins)
    kind = EDGE_DEVIATIONS.get(name)
    if kind:
        assert_deviation(kind, outcome, case, name, plugins)
    else:
        assert_same_as_nni(outcome, case)
    assert_round_trip(outcome, plugins)
