"""Run NNI 2.10.1's annotation tools on one folder; executed with .venv-nni210's python.

    python nni210_driver.py SRC OUT [SRC OUT ...]

for each pair writes OUT/expanded (``expand_annotations(SRC, ...)``), OUT/generated (a copy of it after
``generate_search_space``, which rewrites files in place) and OUT/result.json: the search space,
the files NNI expanded, or the error NNI raised.
"""

import json
import os
import shutil
import sys

from nni.tools.annotation import expand_annotations, generate_search_space


def main(src: str, out: str) -> None:
    expanded, generated = os.path.join(out, "expanded"), os.path.join(out, "generated")
    result = {}
    try:
        returned = expand_annotations(src, expanded, nas_mode="classic_mode")  # as nni-core does
        result["annotated"] = returned == expanded  # NNI returns SRC when nothing was annotated
        shutil.copytree(expanded, generated)
        result["search_space"] = generate_search_space(generated)
    except Exception as error:  # the oracle's verdict, not a failure of this script
        result["error"] = f"{type(error).__name__}: {error}"
    with open(os.path.join(out, "result.json"), "w") as file:
        json.dump(result, file)


if __name__ == "__main__":
    pairs = sys.argv[1:]
    for i in range(0, len(pairs), 2):  # one process for every case: importing nni takes a second
        main(pairs[i], pairs[i + 1])
