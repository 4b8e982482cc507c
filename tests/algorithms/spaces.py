"""Search spaces shared by the algorithm tests."""

ALL_TYPES = {
    "c": {"_type": "choice", "_value": [16, "relu", 0.5, {"k": 1}, [1, 2]]},
    "ri": {"_type": "randint", "_value": [2, 7]},
    "u": {"_type": "uniform", "_value": [-1, 1]},
    "qu": {"_type": "quniform", "_value": [0.5, 10, 2]},
    "lu": {"_type": "loguniform", "_value": [1e-4, 1]},
    "qlu": {"_type": "qloguniform", "_value": [1, 100, 5]},
    "n": {"_type": "normal", "_value": [0, 2]},
    "qn": {"_type": "qnormal", "_value": [10, 3, 2]},
    "ln": {"_type": "lognormal", "_value": [0, 1]},
    "qln": {"_type": "qlognormal", "_value": [1, 0.5, 0.5]},
    "model": {"_type": "choice", "_value": [
        {"_name": "a",
         "lr": {"_type": "loguniform", "_value": [1e-3, 1e-1]},
         "inner": {"_type": "choice", "_value": [
             {"_name": "deep", "depth": {"_type": "randint", "_value": [0, 3]}},
             {"_name": "shallow"},
         ]}},
        {"_name": "b", "w": {"_type": "quniform", "_value": [0, 1, 0.25]}},
    ]},
}

# act × units × drop × (sgd with 2 momenta + adam) = 2 × 3 × 3 × 3 = 54 points
FINITE = {
    "act": {"_type": "choice", "_value": ["relu", "tanh"]},
    "units": {"_type": "randint", "_value": [1, 4]},
    "drop": {"_type": "quniform", "_value": [0, 1, 0.5]},
    "opt": {"_type": "choice", "_value": [
        {"_name": "sgd", "momentum": {"_type": "choice", "_value": [0.0, 0.9]}},
        {"_name": "adam"},
    ]},
}
FINITE_SIZE = 2 * 3 * 3 * (2 + 1)

QUADRATIC = {
    "x": {"_type": "uniform", "_value": [-5, 5]},
    "y": {"_type": "uniform", "_value": [-5, 5]},
    "z": {"_type": "quniform", "_value": [-5, 5, 1]},
}


def quadratic(p):
    return (p["x"] - 1.2) ** 2 + (p["y"] + 2.3) ** 2 + (p["z"] - 3) ** 2
