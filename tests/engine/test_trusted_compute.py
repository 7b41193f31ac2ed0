"""Issue 10, class 7 (trusted-side CPU), a new pattern: work whose size the student chooses.

The budget on the grading process's CPU covered reading replies only; a check's own work was
taken as fixed by the assignment. ``train_digits`` returns a network of any width, and the
grader runs its forward pass on the held-out digits: a trained 64-64-10 network padded with
26 000 hidden units that change nothing (zero weights, float16: 3 MB a reply, cheap to read)
got full marks and cost the grading process 6.5 s of CPU for 1.4 s of the child's (honest
file: 0.7 s). The forward pass is now charged to the same budget (``TestContext.charged``),
so the padded network fails the test as the student's timeout after a few runs. Networks over
500 000 parameters are now refused outright (``MAX_DIGIT_PARAMS``): the test pads to just under.
"""
from __future__ import annotations

from pathlib import Path

from grader.engine.engine import grade_source
from grader.engine.launch import PlainLauncher
from grader.engine.session import Session

REFERENCE = Path(__file__).resolve().parents[2] / "reference_solutions" / "mlp_backprop.py"
PADDED = '''

_trained = train_digits


def train_digits(X_train, y_train, seed):
    (first, last), activation = _trained(X_train, y_train, seed)
    pad = 6500 - first["W"].shape[0]  # zero-weight hidden units (481 000 parameters, under the limit)
    return [{"W": np.concatenate([first["W"], np.zeros((pad, 64))]).astype(np.float16),
             "b": np.concatenate([first["b"], np.zeros(pad)]).astype(np.float16)},
            {"W": np.concatenate([last["W"], np.zeros((10, pad))], axis=1).astype(np.float16),
             "b": last["b"].astype(np.float16)}], activation
'''


def test_a_network_padded_to_a_costly_size_fails_train_digits_within_the_budget() -> None:
    source = REFERENCE.read_text() + PADDED
    report = grade_source("mlp_backprop", source, student_id="ada", launcher=PlainLauncher(),
                          seed_key=b"trusted-compute-test")
    (digits,) = [t for t in report.tests if t.part == "train_digits"]
    assert digits.status != "passed" and digits.score == 0.0, digits.staff_feedback
    assert "cost the grader" in digits.staff_feedback
    # stopped after a few runs, not the 22 a passing trainer needs
    assert "of 22 fresh tasks" not in digits.staff_feedback
    # the rest of the file (the reference's) keeps its points
    assert report.score == report.max_score - digits.max_score


def test_charged_work_counts_towards_the_trusted_budget() -> None:
    session = Session(PlainLauncher(), b"", limits=None)  # no child needed to account
    before = session.trusted_cpu()
    session.charge(0.25)
    session.charge(-1.0)  # a clock that went backwards charges nothing
    assert session.trusted_cpu() == before + 0.25
    assert session.over_trusted_budget()  # 0.25 s > the 0.1 s floor with no child CPU
