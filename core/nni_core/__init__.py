"""nni-core: run NNI experiment configs on a small, plugin-based launcher and manager.

The public API for tools that embed the pipeline lives here; ``nni_core.hookimpl`` marks a
plugin's hook implementations::

    experiment = nni_core.launch("exp.yml")      # -> nni_core.Experiment, once it RUNs
    experiment.wait(); experiment.export(); experiment.stop()
    nni_core.resume(experiment_id); nni_core.view(experiment_id)

Attributes load on first use (PEP 562): trials ``import nni_core.trial``, which must not pay
for pluggy and the plugin machinery.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl", "launch", "resume", "view", "Experiment"]


def __getattr__(name):  # no annotations: typing would cost trials an import
    if name == "hookimpl":
        from nni_core.hookspecs import hookimpl

        return hookimpl
    if name in ("launch", "resume", "view", "Experiment"):
        import nni_core.launch as launch_module

        # ``nni_core.launch`` is the module (callable: it launches), resume/view/Experiment its names.
        return launch_module if name == "launch" else getattr(launch_module, name)
    raise AttributeError(f"module 'nni_core' has no attribute {name!r}")
