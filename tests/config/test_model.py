"""The config model's rules beyond the corpus: key spelling, paths, search-space checks, plugins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import attrs
import pytest

from nni_core import hookimpl
from nni_core.components import Platform
from nni_core.config import (
    ConfigError,
    Problems,
    T,
    TrainingServiceConfig,
    canonical_json,
    config_from_json,
    field,
    load_config,
)
from nni_core.config.search_space import check_search_space
from nni_core.plugins import load_plugins

GOOD = """\
trialCommand: python3 trial.py
trialConcurrency: 1
searchSpace: {x: {_type: choice, _value: [1, 2]}}
tuner: {name: Random}
trainingService: {platform: local}
"""


def write(folder: Path, text: str, name: str = "exp.yml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def problems_of(path: Path, plugins: object = None) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_config(path, plugins)
    return error.value.lines()


def test_problem_line_format() -> None:
    problems = Problems()
    problems.add("trainingService.machineList[0].port", "is not a TCP port", got=70000, expected="1..65535")
    problems.add("tuner", "is not set")
    assert problems.lines() == [
        "trainingService.machineList[0].port: is not a TCP port (got 70000; expected 1..65535)",
        "tuner: is not set",
    ]


def test_keys_ignore_case_and_underscores_and_duplicates_warn(tmp_path: Path) -> None:
    config = write(tmp_path, "TRIAL_COMMAND: first\ntrialCommand: second\ntrial_concurrency: 1\n"
                             "Search_Space: {}\ntuner: {name: Random, CLASS_ARGS: {seed: 1}}\n"
                             "training_service: {PLATFORM: local, use_active_gpu: false}\n")
    loaded = load_config(config)
    assert loaded.config.trial_command == "second"  # NNI keeps the last spelling
    assert loaded.config.tuner.class_args == {"seed": 1}
    assert loaded.config.training_service.use_active_gpu is False
    assert loaded.warnings == ["trialCommand: also given as 'TRIAL_COMMAND'; the later one, 'trialCommand', is used"]


def test_unknown_keys_at_every_level(tmp_path: Path) -> None:
    config = write(tmp_path, GOOD.replace("{name: Random}", "{name: Random, sead: 1}")
                   .replace("{platform: local}", "{platform: local, gpuIdx: 1}") + "trialConcurency: 2\n")
    lines = problems_of(config)
    assert [line.split(" (")[0] for line in lines] == [
        "tuner.sead: unknown field", "trainingService.gpuIdx: unknown field", "trialConcurency: unknown field"]
    assert "trialConcurrency" in lines[2]  # the expected names help spot the typo


def test_relative_paths_start_at_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "exp"
    (folder / "code").mkdir(parents=True)
    (folder / "space.yml").write_text("x: {_type: uniform, _value: [0, 1]}\n")
    config = write(folder, GOOD.replace("searchSpace: {x: {_type: choice, _value: [1, 2]}}",
                                        "searchSpaceFile: space.yml\ntrialCodeDirectory: code"))
    monkeypatch.chdir(tmp_path)
    loaded = load_config(config)
    assert loaded.config.trial_code_directory == str(folder.resolve() / "code")
    assert loaded.config.training_service.trial_code_directory == str(folder.resolve() / "code")
    assert loaded.config.search_space == {"x": {"_type": "uniform", "_value": [0, 1]}}
    assert canonical_json(config_from_json(canonical_json(loaded.config))) == canonical_json(loaded.config)


GOOD_SPECS = {
    "choice": [1, "a", 2.5],
    "randint": [0, 10],
    "uniform": [0, 1.5],
    "quniform": [0, 10, 2],
    "loguniform": [1e-5, 1e-1],
    "qloguniform": [1, 100, 1],
    "normal": [0, 1],
    "qnormal": [0, 1, 0.5],
    "lognormal": [0, 1],
    "qlognormal": [0, 1, 0.5],
}
BAD_SPECS = [
    ("choice", [], "choice has no options"),
    ("choice", "abc", "choice needs a list"),
    ("randint", [0, 1.5], "randint bounds must be integers"),
    ("randint", [5, 5], "randint needs low < high"),
    ("uniform", [0], "uniform takes 2 values"),
    ("uniform", [2, 1], "uniform needs low < high"),
    ("quniform", [0, 1], "quniform takes 3 values"),
    ("quniform", [0, 1, 0], "quniform needs q > 0"),
    ("loguniform", [0, 1], "loguniform needs low > 0"),
    ("qloguniform", [-1, 1, 1], "qloguniform needs low > 0"),
    ("normal", [0, 0], "normal needs sigma > 0"),
    ("qnormal", [0, -1, 1], "qnormal needs sigma > 0"),
    ("lognormal", [0, "x"], "is not a number"),
    ("qlognormal", [0, 1, 1, 1], "qlognormal takes 3 values"),
]


@pytest.mark.parametrize("kind", sorted(GOOD_SPECS))
def test_search_space_every_type_accepts_good_values(kind: str) -> None:
    problems = Problems()
    check_search_space({"p": {"_type": kind, "_value": GOOD_SPECS[kind]}}, problems)
    assert not problems and not problems.warnings


@pytest.mark.parametrize("kind,value,message", BAD_SPECS)
def test_search_space_every_type_rejects_bad_shape_and_bounds(kind: str, value: object, message: str) -> None:
    problems = Problems()
    check_search_space({"p": {"_type": kind, "_value": value}}, problems)
    assert len(problems) == 1 and message in problems.lines()[0], problems.lines()
    assert problems.lines()[0].startswith("searchSpace.p._value")


def test_nested_choice_checks_each_option() -> None:
    space = {"model": {"_type": "choice", "_value": [
        {"_name": "svm", "C": {"_type": "loguniform", "_value": [0.1, 10]}},
        {"_name": "tree", "depth": {"_type": "randint", "_value": [5, 1]}},
        {"depth": 3},
    ]}}
    problems = Problems()
    check_search_space(space, problems)
    assert [line.split(" (")[0] for line in problems.lines()] == [
        "searchSpace.model._value[1].depth._value: randint needs low < high",
        "searchSpace.model._value[2]: in a nested choice every option needs _name",
    ]


def test_custom_tuner_shapes_are_warnings() -> None:
    problems = Problems()
    check_search_space({"a": 1, "b": {"_type": "mutable_layer", "_value": []}, "c": {"_type": "choice"}}, problems)
    assert not problems
    assert len(problems.warnings) == 3


# --- a platform from a plugin: the core treats it like any other -------------------------------


@attrs.frozen(kw_only=True)
class ToyConfig(TrainingServiceConfig):
    needs_manager_ip: ClassVar[bool] = False

    platform: str = field(T.literal("toy"), "toy")
    slots: int = field(T.INT, 1)
    scratch: str = field(T.PATH, "scratch", path=True)


class ToyPlugin:
    @hookimpl
    def register_platforms(self, register):
        register(Platform(name="toy", config_class=ToyConfig))

    @hookimpl
    def validate_config(self, config, problems):
        for path, ts in config.training_services():
            if isinstance(ts, ToyConfig) and ts.slots > 4:
                problems.add(f"{path}.slots", "the toy cluster has 4 slots", got=ts.slots, expected="1..4")


def test_a_plugin_platform_is_loaded_validated_and_canonicalized(tmp_path: Path) -> None:
    plugins = load_plugins(extra=[("toy", ToyPlugin())], environ={"NNI_CORE_PLUGINS": ""})
    config = write(tmp_path, GOOD.replace("{platform: local}", "{platform: toy, slots: 3}"))
    loaded = load_config(config, plugins)
    assert canonical_json(loaded.config)["trainingService"] == {
        "platform": "toy", "trialCommand": "python3 trial.py", "trialCodeDirectory": str(tmp_path.resolve()),
        "debug": False, "slots": 3, "scratch": str(tmp_path.resolve() / "scratch")}
    config = write(tmp_path, GOOD.replace("{platform: local}", "{platform: toy, slots: 9}"))
    assert problems_of(config, plugins) == ["trainingService.slots: the toy cluster has 4 slots (got 9; expected 1..4)"]
    config = write(tmp_path, GOOD)  # only the toy platform is installed in this plugin set
    assert problems_of(config, plugins) == [
        "trainingService.platform: unknown platform; the package nni-plugin-local would provide it "
        "(got 'local'; expected one of the installed platforms: toy)"]


def test_importing_the_config_package_stays_light() -> None:
    code = "import sys, nni_core.config; print(sorted(m for m in ('yaml', 'json', 'requests', 'starlette') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "yaml" not in out and "requests" not in out and "starlette" not in out


# --- odd input: always one clear line per problem, never another exception -------------------------

_BASE = GOOD
ODD_INPUTS = {
    "empty file": "",
    "top-level list": "- a\n",
    "trainingService is a number": _BASE.replace("{platform: local}", "5"),
    "empty trainingService list": _BASE.replace("{platform: local}", "[]"),
    "hybrid member not a mapping": _BASE.replace("{platform: local}", "[5, {platform: local}]"),
    "platform is a list": _BASE.replace("{platform: local}", "{platform: [a]}"),
    "tuner is a string": _BASE.replace("{name: Random}", "TPE"),
    "searchSpaceFile is a number": _BASE.replace("searchSpace: {x: {_type: choice, _value: [1, 2]}}",
                                                 "searchSpaceFile: 123"),
    "searchSpaceFile is a folder": _BASE.replace("searchSpace: {x: {_type: choice, _value: [1, 2]}}",
                                                 "searchSpaceFile: ."),
    "bad tunerGpuIndices": _BASE + 'tunerGpuIndices: "a,b"\n',
    "duration without number": _BASE + "maxExperimentDuration: h\n",
    "machineList not a list": _BASE.replace("{platform: local}", "{platform: remote, machineList: 5}"),
    "kubeflow storage not a mapping": _BASE.replace("{platform: local}", "{platform: kubeflow, storage: 5}"),
    "v1 trial not a mapping": "trainingServicePlatform: local\ntrial: 5\n",
    "v1 localConfig not a mapping": "trainingServicePlatform: local\nlocalConfig: 5\n",
    "v1 kubeflowConfig null": "trainingServicePlatform: kubeflow\nkubeflowConfig: null\n",
    "v1 paiConfig not a mapping": "trainingServicePlatform: pai\npaiConfig: 5\n",
    "v1 hybridConfig not a mapping": "trainingServicePlatform: hybrid\nhybridConfig: 5\n",
    "v1 machine not a mapping": "trainingServicePlatform: remote\nmachineList: [5]\n",
    "v1 task role not a mapping": "trainingServicePlatform: frameworkcontroller\n"
                                  "frameworkcontrollerConfig: {nfs: {server: a, path: b}}\ntrial: {taskRoles: [5]}\n",
    "v1 legacy without trial": "trainingServicePlatform: kubeflow\nkubeflowConfig: {reuse: false}\n",
    "v1 platform is a list": "trainingServicePlatform: [a]\n",
    "v1 tuner class file not a name": "trainingServicePlatform: local\n"
                                      "tuner: {codeDir: ., classFileName: 5, className: A}\n",
}


@pytest.mark.parametrize("name", sorted(ODD_INPUTS))
def test_odd_input_gives_problem_lines(name: str, tmp_path: Path) -> None:
    config = write(tmp_path, ODD_INPUTS[name])
    lines = problems_of(config)
    assert lines and all("\n" not in line and ": " in line for line in lines), lines
    assert not any("Bound(" in line or "MISSING" in line for line in lines), lines
