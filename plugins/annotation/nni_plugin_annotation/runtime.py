"""What expanded annotation code calls as ``nni``: parameter lookup and reporting. Stdlib only.

The expander copies this file beside the expanded files as ``_nni_annotation.py`` and inserts
``import _nni_annotation as nni``, so the expanded trial needs neither this plugin nor NNI 2.x
where it runs. Values come from the trial parameters by the ``key=`` the search-space generator
wrote into each call (``mnist/conv_size/choice``), as NNI 2.x's ``nni.smartparam`` did.

Parameters and metrics travel through a trial SDK: nni-core's ``nni_core.trial`` when it can be
imported, else the real ``nni`` package (2.x or 3.0, both have get_next_parameter and the
report functions). Any other ``nni.<name>`` the user's code calls (``nni.get_trial_id()``) is
looked up in that SDK.
"""

import importlib

_SDKS = ("nni_core.trial", "nni")
_sdk = None
_fetched = False
_params = None


def _trial_sdk():
    global _sdk
    if _sdk is None:
        for name in _SDKS:
            try:
                _sdk = importlib.import_module(name)
                break
            except ImportError:
                continue
        else:
            raise ImportError("code expanded from NNI annotations needs a trial SDK: install nni-core "
                              "(or nni) in the Python environment that runs the trial")
    return _sdk


def get_next_parameter():
    """The trial's parameters, fetched once: annotated code may ask before and after the
    ``@nni.get_next_parameter()`` line and must get the same values."""
    global _fetched, _params
    if not _fetched:
        _params = _trial_sdk().get_next_parameter()
        _fetched = True
    return _params


def report_intermediate_result(metric):
    _trial_sdk().report_intermediate_result(metric)


def report_final_result(metric):
    _trial_sdk().report_final_result(metric)


def _get_param(key):
    params = get_next_parameter() or {}
    if key not in params:
        raise KeyError("the trial parameters have no value for %r; run this code as a trial of an "
                       "experiment whose search space was generated from it" % (key,))
    return params[key]


def _pick(options, key):
    value = _get_param(key)
    try:
        return options[value]
    except (KeyError, TypeError):
        raise KeyError("trial parameter %r is %r, which is not one of %r" % (key, value, list(options))) from None


def choice(options, name=None, key=None):
    return _pick(options, key)


def function_choice(funcs, name=None, key=None):
    return _pick(funcs, key)()


def randint(lower, upper, name=None, key=None):
    return _get_param(key)


def uniform(low, high, name=None, key=None):
    return _get_param(key)


def quniform(low, high, q, name=None, key=None):
    return _get_param(key)


def loguniform(low, high, name=None, key=None):
    return _get_param(key)


def qloguniform(low, high, q, name=None, key=None):
    return _get_param(key)


def normal(mu, sigma, name=None, key=None):
    return _get_param(key)


def qnormal(mu, sigma, q, name=None, key=None):
    return _get_param(key)


def lognormal(mu, sigma, name=None, key=None):
    return _get_param(key)


def qlognormal(mu, sigma, q, name=None, key=None):
    return _get_param(key)


def mutable_layer(mutable_id, mutable_layer_id, funcs, funcs_args, fixed_inputs, optional_inputs,
                  optional_input_size, mode="classic_mode", tf=None):
    """NAS classic mode: run the layer and inputs a NAS tuner chose for this block."""
    if mode != "classic_mode":
        raise RuntimeError("only classic_mode NAS annotations run here; %s needs NNI 2.x" % mode)
    chosen = _get_param(mutable_id)[mutable_layer_id]
    inputs = [optional_inputs[name] for name in chosen["chosen_inputs"]]
    layer = chosen["chosen_layer"]
    return funcs[layer]([fixed_inputs, inputs], **funcs_args[layer])


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_trial_sdk(), name)
