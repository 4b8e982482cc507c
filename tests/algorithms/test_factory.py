"""create_algorithm: built-in names, plugins' algorithms, custom classes, and its errors."""

import textwrap

import pytest

from nni_core import hookimpl
from nni_core.algorithms import AssessResult, NoMoreTrialError, Tuner, create_algorithm
from nni_core.algorithms.factory import CustomAssessor, CustomTuner
from nni_core.components import Algorithm
from nni_core.errors import UsageError
from nni_core.plugins import load_plugins

SPACE = {"x": {"_type": "choice", "_value": [1, 2, 3]}}


class EchoTuner(Tuner):
    """A plugin's tuner: returns its class argument."""

    def __init__(self, answer):
        self.answer = answer

    def update_search_space(self, search_space):
        pass

    def generate_parameters(self, parameter_id, **kwargs):
        return {"x": self.answer}


class FancyPlugin:
    @hookimpl
    def register_algorithms(self, register):
        register(Algorithm(name="Echo", kind="tuner", class_path=f"{__name__}:EchoTuner"))
        register(Algorithm(name="Fancy", kind="tuner", class_path="nni_plugin_not_installed.fancy:Fancy",
                           requires="nni-plugin-fancy"))


@pytest.fixture(scope="module")
def plugins():
    return load_plugins(extra=[("fancy", FancyPlugin())])


def error_of(kind, spec, **kwargs):
    with pytest.raises(UsageError) as caught:
        create_algorithm(kind, spec, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_builtin_names_match_case_insensitively_like_nni(plugins):
    for name in ("Random", "random", "RANDOM"):
        tuner = create_algorithm("tuner", {"name": name, "classArgs": {"seed": 1}}, plugins=plugins)
        tuner.update_search_space(SPACE)
        assert tuner.generate_parameters(0)["x"] in (1, 2, 3)
    assert type(create_algorithm("tuner", {"name": "tpe"}, plugins=plugins)).__name__ == "TpeTuner"
    assert type(create_algorithm("assessor", {"name": "medianstop"}, plugins=plugins)).__name__ == "MedianstopAssessor"


def test_a_plugin_algorithm_gets_its_class_args(plugins):
    tuner = create_algorithm("tuner", {"name": "Echo", "classArgs": {"answer": 42}}, plugins=plugins)
    assert tuner.generate_parameters(0) == {"x": 42}


def test_unknown_name_lists_the_known_ones(plugins):
    message = error_of("tuner", {"name": "Bayes"}, plugins=plugins)
    assert "unknown tuner 'Bayes'" in message
    for name in ("Anneal", "Batch", "Echo", "Evolution", "GridSearch", "Random", "TPE"):
        assert name in message
    assert "Medianstop" not in message  # an assessor, not a tuner
    assert "Medianstop" in error_of("assessor", {"name": "Random"}, plugins=plugins)


def test_nni_only_algorithms_point_at_nni_class(plugins):
    assert "nni.algorithms.hpo.smac_tuner.SMACTuner" in error_of("tuner", {"name": "SMAC"}, plugins=plugins)


def test_missing_package_says_what_to_install(plugins):
    message = error_of("tuner", {"name": "Fancy"}, plugins=plugins)
    assert "install nni-plugin-fancy" in message and "nni_plugin_not_installed" in message


def test_tpe_without_its_plugin_names_the_plugin():
    no_entry_points = load_plugins(environ={"NNI_CORE_PLUGINS": ""})
    assert "nni-plugin-optuna" in error_of("tuner", {"name": "TPE"}, plugins=no_entry_points)


@pytest.mark.parametrize("spec,expected", [
    ({"name": "Random", "classArgs": {"sed": 1}}, "unknown classArgs 'sed' (accepted: seed, optimize_mode)"),
    ({"name": "Random", "classArgs": {"seed": "x"}}, "seed must be an integer"),
    ({"name": "Anneal", "classArgs": {"optimize_mode": "best"}}, "optimize_mode must be 'maximize' or 'minimize'"),
    ({"name": "Evolution", "classArgs": {"population_size": 0}}, "population_size must be a positive integer"),
    ({"name": "GridSearch", "classArgs": {"seed": 1}}, "unknown classArgs 'seed'"),
    ({"name": "Batch", "classArgs": {"optimize_mode": "maximize"}}, "(accepted: none)"),
    ({"name": "TPE", "classArgs": {"tpe_args": {"n_startup": 3}}}, "unknown tpe_args 'n_startup'"),
    ({"name": "TPE", "classArgs": {"tpe_args": {"constant_liar_type": "median"}}}, "constant_liar_type"),
    ({"name": "Random", "classArgs": [1]}, "classArgs must be a mapping"),
    ({"classArgs": {}}, "set 'name'"),
])
def test_bad_class_args_name_the_argument(plugins, spec, expected):
    assert expected in error_of("tuner", spec, plugins=plugins)


PLAIN = '''
class NoMoreTrialError(Exception):
    pass

class CountingTuner:
    """No base class at all: only the methods NNI calls."""
    def __init__(self, limit, optimize_mode="maximize"):
        self.limit, self.results = limit, []
    def update_search_space(self, search_space):
        self.names = sorted(search_space)
    def generate_parameters(self, parameter_id, **kwargs):
        if parameter_id >= self.limit:
            raise NoMoreTrialError()
        return {name: parameter_id for name in self.names}
    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        self.results.append((parameter_id, value))

class ShortAssessor:
    def assess_trial(self, trial_job_id, trial_history):
        return len(trial_history) < 3
'''

NNI_BASED = '''
import nni
from nni.assessor import Assessor, AssessResult
from nni.tuner import Tuner
from nni.utils import extract_scalar_reward

class TwoShotTuner(Tuner):
    def __init__(self, optimize_mode="maximize"):
        self.sent, self.best = 0, None
    def update_search_space(self, search_space):
        self.space = search_space
    def generate_parameters(self, parameter_id, **kwargs):
        if self.sent == 2:
            raise nni.NoMoreTrialError("done")
        self.sent += 1
        return {"x": self.space["x"]["_value"][self.sent]}
    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        self.best = max(self.best or 0, extract_scalar_reward(value))

class ThresholdAssessor(Assessor):
    def assess_trial(self, trial_job_id, trial_history):
        return AssessResult.Good if trial_history[-1] > 0.5 else AssessResult.Bad
'''


def write(directory, name, text):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.py").write_text(textwrap.dedent(text))


def test_plain_custom_tuner_by_class_name_and_code_directory(tmp_path, plugins):
    write(tmp_path / "algos", "plain_tuner", PLAIN)
    spec = {"className": "plain_tuner.CountingTuner", "codeDirectory": "algos", "classArgs": {"limit": 3}}
    tuner = create_algorithm("tuner", spec, plugins=plugins, base_dir=tmp_path)  # relative to the config
    assert isinstance(tuner, CustomTuner)
    tuner.update_search_space({"b": {}, "a": {}})
    assert tuner.generate_multiple_parameters([0, 1, 2, 3, 4]) == [{"a": i, "b": i} for i in range(3)]
    with pytest.raises(NoMoreTrialError):  # its own NoMoreTrialError, seen as nni-core's
        tuner.generate_parameters(3)
    tuner.receive_trial_result(0, {"a": 0, "b": 0}, {"default": 0.5})
    tuner.trial_end(0, True)  # optional methods it lacks are no-ops
    tuner.import_data([])
    assert tuner.results == [(0, {"default": 0.5})]

    assessor = create_algorithm("assessor", {"className": "plain_tuner.ShortAssessor", "codeDirectory": tmp_path / "algos"},
                                plugins=plugins)
    assert isinstance(assessor, CustomAssessor)
    assert assessor.assess_trial("t", [1, 2]) is AssessResult.Good
    assert assessor.assess_trial("t", [1, 2, 3]) is AssessResult.Bad
    assessor.trial_end("t", True)


def test_custom_tuner_subclassing_nni_tuner(tmp_path, plugins):
    pytest.importorskip("nni")
    write(tmp_path, "nni_based_algos", NNI_BASED)
    spec = {"className": "nni_based_algos.TwoShotTuner", "codeDirectory": str(tmp_path),
            "classArgs": {"optimize_mode": "minimize"}}
    tuner = create_algorithm("tuner", spec, plugins=plugins)
    tuner.update_search_space({"x": {"_type": "choice", "_value": [0, 10, 20]}})
    assert tuner.generate_multiple_parameters([0, 1, 2]) == [{"x": 10}, {"x": 20}]  # NNI's own loop
    with pytest.raises(NoMoreTrialError):  # nni.NoMoreTrialError, translated
        tuner.generate_parameters(3)
    tuner.receive_trial_result(0, {"x": 10}, {"default": 0.7, "loss": 3})
    assert tuner.best == 0.7

    assessor = create_algorithm("assessor", {"className": "nni_based_algos.ThresholdAssessor",
                                             "codeDirectory": str(tmp_path)}, plugins=plugins)
    assert assessor.assess_trial("t", [0.9]) is AssessResult.Good   # nni's AssessResult, translated
    assert assessor.assess_trial("t", [0.9, 0.1]) is AssessResult.Bad


def test_nni_builtin_class_works_as_a_custom_class(plugins):
    pytest.importorskip("nni")
    spec = {"className": "nni.algorithms.hpo.random_tuner.RandomTuner", "classArgs": {"seed": 3}}
    tuner = create_algorithm("tuner", spec, plugins=plugins)
    tuner.update_search_space(SPACE)
    assert sorted(p["x"] for p in tuner.generate_multiple_parameters([0, 1, 2, 3])) == [1, 2, 3]


def test_same_module_name_in_two_code_directories(tmp_path, plugins):
    for answer in (1, 2):
        write(tmp_path / f"exp{answer}", "my_tuner", f"""
            class T:
                def generate_parameters(self, parameter_id, **kwargs):
                    return {{"answer": {answer}}}
                def receive_trial_result(self, *args, **kwargs):
                    pass
        """)
        tuner = create_algorithm("tuner", {"className": "my_tuner.T", "codeDirectory": tmp_path / f"exp{answer}"},
                                 plugins=plugins)
        assert tuner.generate_parameters(0) == {"answer": answer}


@pytest.mark.parametrize("spec,expected", [
    ({"className": "CountingTuner", "codeDirectory": "algos"}, "must be 'module.ClassName'"),
    ({"className": "plain_tuner.CountingTuner", "codeDirectory": "nowhere"}, "is not a directory"),
    ({"className": "missing_module.X", "codeDirectory": "algos"}, "cannot import module 'missing_module'"),
    ({"className": "plain_tuner.Nope", "codeDirectory": "algos"}, "has no 'Nope'"),
    ({"className": "plain_tuner.CountingTuner", "codeDirectory": "algos"}, "missing classArgs 'limit'"),
    ({"className": "plain_tuner.CountingTuner", "codeDirectory": "algos", "classArgs": {"limit": 1, "lim": 2}},
     "unknown classArgs 'lim' (accepted: limit, optimize_mode)"),
    ({"className": "broken.X", "codeDirectory": "algos"}, "importing 'broken' failed: ZeroDivisionError"),
])
def test_custom_class_errors_are_one_line(tmp_path, plugins, spec, expected):
    write(tmp_path / "algos", "plain_tuner", PLAIN)
    write(tmp_path / "algos", "broken", "1 / 0\n")
    assert expected in error_of("tuner", spec, plugins=plugins, base_dir=tmp_path)


def test_find_algorithm_imports_nothing(plugins):
    from nni_core.algorithms.factory import find_algorithm

    assert find_algorithm("tuner", "fancy", plugins).requires == "nni-plugin-fancy"  # not importable, still found
    assert find_algorithm("tuner", "batchtuner", plugins).class_path.endswith("batch:BatchTuner")
    with pytest.raises(UsageError, match="unknown assessor 'Curve'"):
        find_algorithm("assessor", "Curve", plugins)
