"""The plugin contract of nni-core: every hook a plugin may implement.

A plugin is a module (or object) whose functions carry ``@nni_core.hookimpl`` and whose names match
the functions below. Plugins are found through the ``nni_core`` entry-point group; first-party
plugins (local, remote, ...) go through exactly the same door as a third party's.

Two kinds of hooks:

* ``register_*`` hooks hand the core named things (platforms, algorithms, managers, commands)
  through a ``register`` callback. The core records which distribution registered each name; the
  same name from two distributions is an error naming both.
* pipeline hooks (``validate_config`` ... ``post_launch``) are called by the launch pipeline in
  the order of ``../docs/plugins.md``. Each docstring says when the hook fires, who should answer
  and what it returns.

Every hook here is documented in docs/plugins.md with its exact signature; a test keeps the two
in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:  # only for the signatures; importing the hookspecs stays cheap
    import argparse

    from nni_core.components import Algorithm, ManagerLauncher, Platform
    from nni_core.config import ExperimentConfig, Problems
    from nni_core.launch import Experiment, LaunchContext

PROJECT = "nni_core"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- registration -------------------------------------------------------------------------------


@hookspec
def register_platforms(register: Callable[[Platform], None]) -> None:
    """Register the training-service platforms this plugin provides.

    Fires once, when the plugin set is loaded. Call ``register(Platform(...))`` once per platform
    name (``local``, ``remote``, ``slurm``, ...). Exactly one plugin may own a name; a second
    registration of the same name is an error naming both distributions.
    """


@hookspec
def register_algorithms(register: Callable[[Algorithm], None]) -> None:
    """Register tuners, assessors and advisors under the names a config uses.

    Fires once, when the plugin set is loaded. Call ``register(Algorithm(...))`` per name
    (``TPE``, ``Random``, ``Medianstop``, ...). Configs match names case-insensitively, as NNI
    does; a duplicate name within one kind is an error naming both distributions.
    """


@hookspec
def register_managers(register: Callable[[ManagerLauncher], None]) -> None:
    """Register ways to start an experiment manager (``--manager NAME``).

    Fires once, when the plugin set is loaded. The core registers ``embedded`` (its own Python
    manager); a plugin may add another, e.g. ``nni`` for the real NNI 3.0 Node manager.
    """


@hookspec
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add sub-commands to the ``nni-core`` command line.

    Fires when the CLI builds its parser. Call ``subparsers.add_parser(name, help=...)`` and
    ``set_defaults(handler=function)``; the handler receives the parsed ``argparse.Namespace``
    and returns the exit status. Keep imports inside the handler so ``nni-core --help`` stays fast.
    """


# --- the launch pipeline, in the order it runs ----------------------------------------------------


@hookspec
def validate_config(config: ExperimentConfig, problems: Problems) -> None:
    """Check a loaded, normalized experiment config; add what is wrong to ``problems``.

    Fires for ``launch``, ``validate`` and ``resume`` after the config is loaded (v1 converted)
    and before anything starts. Broadcast: the core checks the common fields and the search space;
    each platform plugin checks the ``trainingService`` sections whose ``platform`` it owns and
    ignores the others. Report with ``problems.add(path, message, got=..., expected=...)``;
    do not raise. Returns nothing.
    """


@hookspec(firstresult=True)
def expand_trial_code(config: ExperimentConfig, experiment_dir: str) -> ExperimentConfig | None:
    """Rewrite the trial code before the experiment starts (e.g. NNI annotations).

    Fires during ``launch`` after validation, before the manager starts. A plugin that acts
    (for example because ``config.use_annotation`` is true) copies the trial code under
    ``experiment_dir``, rewrites it and returns a new config pointing at the copy (with the
    generated search space). First non-None result wins; return None to leave the config as is.
    """


@hookspec
def configure_platform(launch: LaunchContext) -> None:
    """Set up the platform on the freshly started manager, before the experiment is submitted.

    Fires once the manager answers ``check-status``. Broadcast; a plugin acts only for the
    platforms it owns (``launch.platforms``), e.g. sending NNI's v1 ``cluster-metadata`` through
    ``launch.client``. Raise ``nni_core.errors.LaunchError`` to abort the launch.
    """


@hookspec(firstresult=True)
def build_request(launch: LaunchContext) -> dict[str, Any] | None:
    """Build the body of ``POST /experiment``.

    Fires right before submission. First non-None result wins: a platform plugin that needs
    another body (v1 platforms send NNI's v1 form) returns it; the core's default, which runs
    last, returns the canonical v2 JSON of ``launch.config``.
    """


@hookspec
def post_launch(launch: LaunchContext, experiment: Experiment) -> None:
    """React to a submitted experiment.

    Fires after ``POST /experiment`` succeeded and the experiment is in the registry. Broadcast:
    every plugin may act (print, notify, record). Exceptions are reported and do not stop the
    experiment.
    """
