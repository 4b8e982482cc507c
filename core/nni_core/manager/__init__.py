"""The embedded experiment manager: one process per experiment, NNI 3.0's REST API.

Start it with ``python -m nni_core.manager --port P --experiment-id ID --action create|resume|view
--experiments-directory DIR --log-level LEVEL`` (see ``server`` for every option). Modules:

* ``server``  the process: arguments, logging, binding, ``manager.json``, signals, uvicorn;
* ``rest``    the HTTP routes (API, trial channel, ``/logs``, dashboard);
* ``engine``  the experiment: tuner, training service, scheduling, metrics;
* ``state``   the in-memory read model the API and the dashboard read;
* ``store``   the SQLite database (``<expDir>/db/nni.sqlite``).
"""
