"""The plugin manager: discovery, isolation of broken plugins, name ownership, the way out, tracing."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from tests.support import make_venv_beside_nni_core, pip_install, run_cli

from nni_core import hookimpl
from nni_core.components import Algorithm, Platform
from nni_core.errors import PluginError
from nni_core.plugins import load_plugins

FIRST_PARTY_PLATFORMS = {"local", "remote", "kubeflow", "frameworkcontroller", "adl", "aml", "dlc",
                         "openpai", "hybrid"}


class _PlatformPlugin:
    """A plugin object registering one platform, named like a distribution."""

    def __init__(self, distribution: str, platform: str) -> None:
        self.__name__ = distribution
        self.platform = platform

    @hookimpl
    def register_platforms(self, register):
        register(Platform(self.platform, config_class=object))


def test_plugins_command_lists_first_party_plugins_as_json() -> None:
    result = run_cli("plugins")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_name = {row["name"]: row for row in rows}
    assert {"local", "remote", "annotation"} <= set(by_name)
    local = by_name["local"]
    assert local["distribution"] == "nni-plugin-local"
    assert local["version"]
    assert not any(row["builtin"] for row in rows)


def test_plugins_all_adds_the_builtins() -> None:
    rows = json.loads(run_cli("plugins", "--all").stdout)
    builtins = [row for row in rows if row["builtin"]]
    assert builtins and all(row["distribution"] == "nni-core" for row in builtins)
    assert any("register_commands" in row["hooks"] for row in builtins)


def test_every_first_party_platform_is_owned_by_its_own_distribution() -> None:
    plugins = load_plugins()
    assert FIRST_PARTY_PLATFORMS <= set(plugins.platforms)
    for name in FIRST_PARTY_PLATFORMS:
        assert plugins.platforms[name].distribution == f"nni-plugin-{name}"


def test_a_platform_claimed_twice_names_both_distributions() -> None:
    plugins = load_plugins(extra=[("one", _PlatformPlugin("nni-plugin-one", "twice")),
                                  ("two", _PlatformPlugin("nni-plugin-two", "twice"))],
                           environ={"NNI_CORE_PLUGINS": ""})
    message = "platform 'twice' is registered by nni-plugin-one and nni-plugin-two"
    assert any(message in problem for problem in plugins.problems())
    with pytest.raises(PluginError, match=message):
        plugins.platform("twice")


def test_a_clash_with_a_first_party_platform_is_reported_not_fatal() -> None:
    plugins = load_plugins(extra=[("impostor", _PlatformPlugin("nni-plugin-impostor", "local"))])
    with pytest.raises(PluginError, match="nni-plugin-local and nni-plugin-impostor"):
        plugins.platform("local")
    assert plugins.platform("remote") is not None  # the others are untouched


def test_the_same_algorithm_name_may_exist_once_per_kind() -> None:
    class Algorithms:
        __name__ = "nni-plugin-algos"

        @hookimpl
        def register_algorithms(self, register):
            register(Algorithm("Twin", kind="tuner", class_path="x:T"))
            register(Algorithm("Twin", kind="assessor", class_path="x:A"))

    plugins = load_plugins(extra=[("algos", Algorithms())], environ={"NNI_CORE_PLUGINS": ""})
    assert plugins.algorithm("tuner", "Twin").class_path == "x:T"
    assert plugins.algorithm("assessor", "Twin").class_path == "x:A"


def test_a_registration_that_raises_is_reported_and_the_others_still_register() -> None:
    class Exploding:
        __name__ = "nni-plugin-exploding"

        @hookimpl
        def register_platforms(self, register):
            raise RuntimeError("no config class today")

    plugins = load_plugins(extra=[("exploding", Exploding()), ("fine", _PlatformPlugin("nni-plugin-fine", "fine"))],
                           environ={"NNI_CORE_PLUGINS": ""})
    assert "fine" in plugins.platforms
    assert any("nni-plugin-exploding" in p and "no config class today" in p for p in plugins.problems())


def test_a_misspelt_hook_fails_loudly() -> None:
    class Misspelt:
        @hookimpl
        def validate_confg(self, config, problems):
            pass

    with pytest.raises(PluginError, match="'misspelt' implements unknown hook.*validate_confg"):
        load_plugins(extra=[("misspelt", Misspelt())])


@pytest.mark.parametrize("selection, expected", [("", set()), ("local", {"local"}), ("local, remote", {"local", "remote"})])
def test_environment_variable_loads_only_the_named_plugins(selection: str, expected: set[str]) -> None:
    plugins = load_plugins(environ={"NNI_CORE_PLUGINS": selection})
    external = {name for name, info in plugins.infos.items() if not info.builtin}
    assert external == expected
    assert set(plugins.platforms) == expected  # each first-party plugin owns its own platform


def test_tracing_prints_hook_calls_and_results() -> None:
    result = run_cli("plugins", env={"NNI_CORE_TRACE_PLUGINS": "1", "NNI_CORE_PLUGINS": ""})
    assert result.returncode == 0
    assert "register_commands" in result.stderr
    assert "subparsers" in result.stderr  # the arguments are shown


def test_a_plugin_that_raises_on_import_is_named_and_does_not_stop_the_others(tmp_path: Path) -> None:
    """A pip-installed plugin whose import fails: reported by distribution and entry point."""
    source = tmp_path / "nni-plugin-broken"
    package = source / "nni_plugin_broken"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('needs a module that is not installed')\n")
    (source / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "nni-plugin-broken"
        version = "1.2.3"
        [project.entry-points.nni_core]
        broken = "nni_plugin_broken"
    """))
    python = make_venv_beside_nni_core(tmp_path / "venv")
    pip_install(python, str(source))

    result = run_cli("plugins", python=str(python))
    assert result.returncode == 0
    names = {row["name"] for row in json.loads(result.stdout)}
    assert "local" in names and "broken" not in names
    assert "plugin 'broken' from nni-plugin-broken (nni_plugin_broken) failed to load" in result.stderr
    assert "needs a module that is not installed" in result.stderr
    assert "Traceback" not in result.stderr

    # The way out: naming only the plugins to load silences the broken one.
    quiet = run_cli("plugins", python=str(python), env={"NNI_CORE_PLUGINS": "local"})
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert [row["name"] for row in json.loads(quiet.stdout)] == ["local"]


def test_the_entry_point_scan_is_cached_across_working_directories(tmp_path: Path) -> None:
    """Every run starts in some folder; a folder not seen before must not cost a new scan of the
    installed distributions (importing importlib.metadata alone takes tens of milliseconds)."""
    import os
    import subprocess
    import sys

    code = ("import sys; from nni_core.plugins import get_plugins; plugins = get_plugins(); "
            "print('importlib.metadata' in sys.modules, 'local' in plugins.platforms)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def run_in(folder: Path) -> str:
        folder.mkdir()
        return subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True,
                              check=True, timeout=60).stdout.strip()

    assert run_in(tmp_path / "first") == "True True"  # an empty cache: scanned
    assert run_in(tmp_path / "second") == "False True"  # a new folder: from the cache
