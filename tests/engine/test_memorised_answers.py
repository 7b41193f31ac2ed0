"""Issue 10 (points for work not done): answers read from one attempt cannot be replayed.

A student's inputs used to depend on the student only, so every attempt saw the same visible
and hidden inputs. Feedback of a failed visible test shows expected values (worst entries to 6
digits, heatmaps of every entry to 4), so three attempts of a file with no implementation got
8 of chain_rule's 15 visible points by returning what the earlier reports showed (a file run
without isolation could also log its hidden inputs and replay the reference's answers). The
input variant now includes the file's hash (``seeds.file_variant``): the same file is graded
the same way every time, any other file on other inputs.
"""
from __future__ import annotations

import json

import numpy as np

from grader.engine.assignment import load_assignment
from grader.engine.engine import grade_source
from grader.engine.launch import PlainLauncher
from grader.engine.seeds import file_variant

KEY = b"memorised-answers-test-key"
PARTS = ("logistic_ls_loss", "multivariate_dfdt")


def _grade(source: str):
    return grade_source("chain_rule", source, student_id="ada", launcher=PlainLauncher(),
                        seed_key=KEY)


def _scores(report) -> dict[str, float]:
    return {t.name: t.score for t in report.tests if t.part in PARTS}


def test_file_variant_depends_on_student_exact_bytes_and_the_key() -> None:
    assert file_variant("ada", b"x = 1\n", KEY) == file_variant("ada", b"x = 1\n", KEY)
    assert file_variant("ada", b"x = 1\n", KEY) != file_variant("ada", b"x = 1 \n", KEY)
    assert file_variant("ada", b"x = 1\n", KEY) != file_variant("bob", b"x = 1\n", KEY)
    # keyed: without the server's key no one can tell which inputs a file will get
    assert file_variant("ada", b"x = 1\n", KEY) != file_variant("ada", b"x = 1\n", b"other")


def test_visible_inputs_of_a_file_cannot_be_chosen_without_the_key(tmp_path) -> None:
    """With a public hash of the file, a student could vary a comment offline until the
    visible inputs avoid the case their code gets wrong; the key makes that impossible."""
    log = tmp_path / "t.jsonl"
    source = f"""
import json
import numpy as np

def multivariate_dfdt(t):
    with open({str(log)!r}, "a") as f:
        f.write(json.dumps(t.tolist()) + "\\n")
    return np.zeros_like(t)
"""
    seen = []
    for key in (KEY, KEY, b"another-server-key"):
        log.unlink(missing_ok=True)
        grade_source("chain_rule", source, student_id="ada", launcher=PlainLauncher(),
                     seed_key=key, public_only=True)
        seen.append(log.read_text().splitlines()[0])
    assert seen[0] == seen[1]  # the same file and key: the same visible inputs
    assert seen[0] != seen[2]  # another key: other visible inputs


def test_lookup_table_of_an_earlier_attempts_inputs_scores_nothing(tmp_path) -> None:
    log = tmp_path / "calls.jsonl"
    # Attempt 1: implements nothing, writes down every input it is given (visible and hidden).
    recorder = f"""
import json
import numpy as np

def _log(*record):
    with open({str(log)!r}, "a") as f:
        f.write(json.dumps(record) + "\\n")

def logistic_ls_loss(w, b, x, t):
    _log("logistic_ls_loss", w, b, x.tolist(), t.tolist())
    return np.zeros_like(x)

def multivariate_dfdt(t):
    _log("multivariate_dfdt", t.tolist())
    return np.zeros_like(t)
"""
    first = _grade(recorder)
    assert all(score == 0.0 for score in _scores(first).values())
    # Attempt 2: the reference's answers for every input seen in attempt 1, looked up.
    ref = load_assignment("chain_rule").reference_module()
    table = {}
    for line in log.read_text().splitlines():
        fn, *args = json.loads(line)
        arrays = [np.array(a) if isinstance(a, list) else a for a in args]
        table[json.dumps([fn, *args])] = getattr(ref, fn)(*arrays).tolist()
    assert len(table) >= 4  # the visible and hidden inputs of both parts
    lookup = f"""
import json
import numpy as np
TABLE = {table!r}

def _answer(fn, *args):
    found = TABLE.get(json.dumps([fn, *args]))
    return None if found is None else np.array(found)

def logistic_ls_loss(w, b, x, t):
    found = _answer("logistic_ls_loss", w, b, x.tolist(), t.tolist())
    return np.zeros_like(x) if found is None else found

def multivariate_dfdt(t):
    found = _answer("multivariate_dfdt", t.tolist())
    return np.zeros_like(t) if found is None else found
"""
    second = _grade(lookup)
    scores = _scores(second)
    assert len(scores) == 4  # two visible and two hidden tests
    assert scores == {name: 0.0 for name in scores}, scores
    # The same file is graded on the same inputs: the same result every time.
    assert _scores(_grade(lookup)) == scores
