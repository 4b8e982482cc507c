"""One trial: fit an SVM with the tuner's hyperparameters, report cross-validated accuracy.

Written against nni-core's trial SDK; with NNI installed, `import nni` works the same way.
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.svm import SVC

import nni_core.trial as nni

DEFAULTS = {"C": 1.0, "gamma": 0.001, "kernel": "rbf"}


def main() -> None:
    params = {**DEFAULTS, **(nni.get_next_parameter() or {})}
    digits = load_digits()
    model = SVC(C=params["C"], gamma=params["gamma"], kernel=params["kernel"])
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = []
    for train, test in folds.split(digits.data, digits.target):
        model.fit(digits.data[train], digits.target[train])
        scores.append(model.score(digits.data[test], digits.target[test]))
        nni.report_intermediate_result(sum(scores) / len(scores))
    nni.report_final_result(sum(scores) / len(scores))


if __name__ == "__main__":
    main()
