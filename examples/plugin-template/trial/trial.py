"""A trial that reports its own CPU priority, so a test can see the platform at work."""

import os

import nni_core.trial as nni

params = nni.get_next_parameter()
nni.report_final_result({"default": params["x"] ** 2, "niceness": os.nice(0)})
