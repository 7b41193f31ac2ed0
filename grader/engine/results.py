"""Grading results as plain data: one :class:`TestResult` per test, one :class:`Report` per submission.

``Report.to_gradescope()`` gives Gradescope's ``results.json`` with only its documented keys
(``score``, ``execution_time``, ``output``, ``extra_data``, ``tests[]`` with ``name``, ``score``,
``max_score``, ``status`` passed/failed, ``output``, ``visibility``, ``extra_data``); gradelab's finer
status and the tested function (``part``) travel in ``extra_data``. ``Report.to_prairielearn()``
gives PrairieLearn's external-grader ``results.json`` (``score`` as a fraction in [0, 1]).
Both are checked against schemas written from the platforms' documentation
(``grader/export/schemas/``, tests/export). The caps on what a report carries from the student's
code live in :mod:`grader.engine.bounds` (re-exported here).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.engine.bounds import (DIAGNOSIS_BYTES, ERROR_TEXT_BYTES, FIGURE_BYTES, FIGURES_PER_TEST,
                                  OUTPUT_BYTES, REPORT_BYTES, TEST_TEXT_BYTES, TRUNCATED, bounded_diagnosis,
                                  bounded_figures, bounded_text, json_bytes)

__all__ = ["DIAGNOSIS_BYTES", "ERROR_TEXT_BYTES", "FIGURES_PER_TEST", "FIGURE_BYTES", "HIDDEN_DEFAULT",
           "HIDDEN_NOTICE", "HIDDEN_PHRASES", "OUTCOMES", "OUTPUT_BYTES", "REPORT_BYTES", "STATUSES",
           "TEST_TEXT_BYTES", "TRUNCATED", "CheckRecord", "Report", "TestResult", "bounded_diagnosis",
           "bounded_figures", "bounded_text", "diagnosis_parts", "diagnosis_text", "hidden_feedback",
           "output_heading"]

STATUSES = ("passed", "failed", "error", "timeout")
OUTCOMES = ("graded", "error")


def diagnosis_text(diagnosis: Any) -> str:
    """Return one diagnosis (a dict of ``TestResult.diagnosis``) as a sentence for students.

    Diagnosis messages already start with "Probably" ("Probably: your dW1 ..."), so they are
    shown as they are; anything else (a message or title without it) gets "Probable mistake: "
    in front. Used by the CLI, the web page and ``to_gradescope()`` alike.
    """
    if isinstance(diagnosis, dict):
        text = str(diagnosis.get("message") or diagnosis.get("title") or diagnosis.get("key") or "")
    else:
        text = str(diagnosis)
    text = text.strip()
    plain = isinstance(diagnosis, dict) and (diagnosis.get("repeat_of") or diagnosis.get("kind") == "note")
    return text if plain or text.lower().startswith("probabl") else f"Probable mistake: {text}"


def diagnosis_parts(diagnosis: Any) -> tuple[str, str]:
    """Split :func:`diagnosis_text` into a short lead ("Probably:") and the rest, for emphasis."""
    text = diagnosis_text(diagnosis)
    lead, sep, rest = text.partition(": ")
    # a colon inside a quoted test name ("the same mistake as in “mlp_backward: ...”") is not
    # the end of a lead: the emphasis stopped mid-sentence there
    if sep and len(lead) <= 60 and not any(q in lead for q in "\u201c\u201d\"'"):
        return f"{lead}:", rest
    return "", text


#: Fixed wording of hidden-test feedback, by failure category: a StudentCallError ``kind``
#: (errors.py) or a comparison category (compare.CATEGORIES). Nothing else reaches a student.
HIDDEN_PHRASES = {
    "missing": "{part}: a function this test calls is not defined in your file",
    "not_implemented": "{part} is not implemented yet",
    "exception": "{part} raised an exception",
    "memory": "{part} ran out of memory",
    "unsendable": "{part} returned a value of a type that cannot be graded",
    "mutated": "{part} modified one of its inputs in place",
    "view": "{part} returned a view of one of its inputs",
    "timeout": "{part}: time limit exceeded",
    "crash": "{part}: the program exited or stopped responding",
    "protocol": "{part}: the program sent a reply the grader could not read",
    "type": "{part} returned a value of the wrong type",
    "shape": "{part} returned an array of the wrong shape",
    "dtype": "{part} returned an array of the wrong dtype",
    "nonfinite": "{part} returned non-finite values",
    "values": "{part}: values differ from the expected ones",
}
HIDDEN_DEFAULT = "{part} did not pass this check"
HIDDEN_NOTICE = "(Details of hidden tests are not shown.)"


def hidden_feedback(part: str, status: str, fraction: float, category: str | None) -> str:
    """Return the feedback a student sees for a hidden test: fixed words only.

    Built from grader-owned facts (``part``, the function named in the manifest; ``status``;
    whether any credit was given) and the failure ``category`` (a key of
    :data:`HIDDEN_PHRASES`), never from a message: those carry text or numbers the student's
    code chose or that derive from its output or the hidden inputs (exception class names,
    dict keys, shapes, relative errors, tracebacks).
    """
    if status == "passed":
        return "Passed."
    if category == "internal":
        return ("The grader could not run this test (an internal error, not your fault); your "
                "instructor can see the details in the grader log.")
    text = HIDDEN_PHRASES.get(category or "", HIDDEN_DEFAULT).format(part=part)
    credit = " (partial credit)" if fraction > 0 else ""
    return f"{text}{credit}. {HIDDEN_NOTICE}"


@dataclass
class CheckRecord:
    """Trusted-side record of one failed comparison, kept for the diagnosis hook.

    Holds the function name, the variable compared, the inputs sent to the student and the
    student's and the reference's outputs (numpy arrays / plain data). It never leaves the
    trusted process: it is not part of ``to_dict()`` or ``to_gradescope()``, because for a hidden
    test it contains the hidden inputs and the reference output.
    """

    function: str
    variable: str
    inputs: tuple[Any, ...] = ()
    got: Any = None
    expected: Any = None
    message: str = ""
    #: Which comparison check failed (``grader.engine.compare.Category``), if known.
    category: str | None = None


@dataclass
class TestResult:
    """Outcome of one manifest test; ``score`` is in points (0 <= score <= max_score).

    ``status`` is ``passed`` (full marks), ``failed`` (a check failed or partial credit),
    ``error`` (the student code raised, is missing or returned something unusable) or
    ``timeout`` (a call ran out of CPU or wall time). ``diagnosis`` is filled by
    ``grader.diagnosis`` (issue 6) from ``records``.

    For a hidden test ``feedback`` is :func:`hidden_feedback` (fixed words) and
    ``staff_feedback`` the full text, for instructors only: it is in ``to_dict()`` (the web
    app strips it for students) but never in ``to_gradescope()``. Empty for visible tests.
    """

    __test__ = False  # not a pytest class

    name: str
    part: str
    score: float
    max_score: float
    status: str
    feedback: str
    visibility: str = "visible"
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    records: list[CheckRecord] = field(default_factory=list, repr=False, compare=False)
    staff_feedback: str = ""
    figures: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (no trusted-only ``records``; ``staff_feedback`` is for
        instructors only and must be removed before students see it). ``figures`` (picture
        data, ``grader.engine.figures``) is present only when the test has pictures."""
        data = {
            "name": self.name,
            "part": self.part,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "feedback": self.feedback,
            "visibility": self.visibility,
            "diagnosis": list(self.diagnosis),
            "duration_s": round(self.duration_s, 4),
            "staff_feedback": self.staff_feedback,
        }
        if self.figures:
            data["figures"] = list(self.figures)
        return data

    def student_output(self) -> str:
        """Return the feedback text a student reads for this test.

        A failed ``visible`` test reads top-down (``grader.engine.summary``): what is wrong in
        one line, one line per diagnosis (:func:`diagnosis_text`), a pointer to its pictures,
        then "Details:" and the full ``feedback`` when it says more than the first line. Tests
        of any other visibility get ``feedback`` only: their details are withheld from
        students."""
        output = self.feedback
        if self.visibility != "visible" or self.status == "passed":
            return output
        # Top-down (issue 13): what is wrong, the probable mistakes, then every number.
        from grader.engine import summary

        lines = [summary.what_is_wrong(self)] + [diagnosis_text(d) for d in self.diagnosis]
        if self.figures:
            lines.append(f"({len(self.figures)} picture{'s' if len(self.figures) > 1 else ''} "
                         "of this test on the submission page.)")
        if summary.has_details(self):
            lines += ["Details:", output]
        return "\n".join(lines)

    def to_gradescope(self) -> dict[str, Any]:
        """Return one entry of Gradescope's ``tests[]`` with its documented keys only.

        ``status`` is Gradescope's ``passed`` or ``failed`` (our ``error`` and ``timeout`` are
        failures there); the finer status and the tested function go to ``extra_data``.
        ``output`` is :meth:`student_output`.
        """
        return {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": "passed" if self.status == "passed" else "failed",
            "output": self.student_output(),
            "visibility": self.visibility,
            "extra_data": {"status": self.status, "part": self.part},
        }

    def to_prairielearn(self) -> dict[str, Any]:
        """Return one entry of PrairieLearn's ``tests[]``: ``name``, ``description`` (the
        tested function), ``points``, ``max_points``, ``message`` (:meth:`student_output`).
        PrairieLearn has no per-test visibility: the caller leaves out tests a student may not
        see in detail (see :meth:`Report.to_prairielearn`)."""
        return {
            "name": self.name,
            "description": f"Checks {self.part}",
            "points": self.score,
            "max_points": self.max_score,
            "message": self.student_output(),
        }


def output_heading(output: str) -> str:
    """Label of a report's ``output``: ``"Output of your code (last 123 bytes)"``."""
    return f"Output of your code (last {len(output.encode('utf-8'))} bytes)"


@dataclass
class Report:
    """Outcome of grading one submission; scores in points, ``duration_s`` in seconds.

    ``outcome`` is ``graded`` or ``error``; ``error`` then explains a submission-wide problem
    (syntax error with its line number, crash while importing), and every test scores 0.
    ``output`` is the tail (at most 4096 bytes) of what the student's code printed (stdout and
    stderr) while importing and during the visible tests, never while a hidden test ran; it is
    shown as it is and never parsed or scored.
    """

    slug: str
    score: float
    max_score: float
    tests: list[TestResult]
    outcome: str = "graded"
    error: str | None = None
    grader_version: str = ""
    student_id: str | None = None
    duration_s: float = 0.0
    output: str = ""
    #: Where the time went: ``{phase: {"wall_s", "cpu_s"}}`` (``grader.engine.phases``); timing
    #: only, never read by anything that scores.
    phases: dict[str, dict[str, float | None]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")

    @property
    def passed(self) -> bool:
        """True when every test passed."""
        return bool(self.tests) and all(t.status == "passed" for t in self.tests)

    def bound(self, limit: int = REPORT_BYTES) -> Report:
        """Cap every text the student's code could have shaped, in place; return ``self``.

        Per test: ``feedback`` and ``staff_feedback`` at :data:`TEST_TEXT_BYTES`, the diagnoses
        at :data:`DIAGNOSIS_BYTES`, the pictures by :func:`bounded_figures` (strict JSON);
        ``error`` at :data:`ERROR_TEXT_BYTES`, ``output`` at :data:`OUTPUT_BYTES`; cut texts end
        with "(truncated)". If the JSON of the whole report is still above ``limit`` bytes (many
        tests), the per-test caps are halved until it fits, and then pictures are dropped.
        Texts come out safe for UTF-8 and PostgreSQL (see :func:`bounded_text`).
        """
        per_test, per_diag = TEST_TEXT_BYTES, DIAGNOSIS_BYTES
        self.error = None if self.error is None else bounded_text(self.error, ERROR_TEXT_BYTES)
        self.output = bounded_text(self.output, OUTPUT_BYTES)
        for t in self.tests:
            t.figures = bounded_figures(t.figures)
        while True:
            for t in self.tests:
                t.feedback = bounded_text(t.feedback, per_test)
                t.staff_feedback = bounded_text(t.staff_feedback, per_test)
                t.diagnosis = bounded_diagnosis(list(t.diagnosis), per_diag)
            if json_bytes(self.to_dict()) <= limit:
                return self
            if per_test <= 64:  # still too large: the pictures go, last test first
                for t in reversed(self.tests):
                    if t.figures:
                        t.figures = []
                        if json_bytes(self.to_dict()) <= limit:
                            break
                return self
            per_test, per_diag = per_test // 2, per_diag // 2

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data with every field and one dict per test."""
        return {
            "slug": self.slug,
            "score": self.score,
            "max_score": self.max_score,
            "outcome": self.outcome,
            "error": self.error,
            "grader_version": self.grader_version,
            "student_id": self.student_id,
            "duration_s": round(self.duration_s, 4),
            "tests": [t.to_dict() for t in self.tests],
            "output": self.output,
            "phases": self.phases,
        }

    def _top_output(self) -> str:
        parts = [self.error] if self.error else []
        if self.output:
            parts.append(f"{output_heading(self.output)}:\n{self.output}")
        return "\n\n".join(parts)

    def to_gradescope(self) -> dict[str, Any]:
        """Return Gradescope's ``results.json`` (documented keys only).

        The top-level ``output`` carries a submission-wide error and then, labelled
        (:func:`output_heading`), what the student's code printed. Our ``max_score``, outcome
        and assignment go to ``extra_data`` (Gradescope takes the maximum from its own
        assignment settings).
        """
        data: dict[str, Any] = {
            "score": self.score,
            "execution_time": round(self.duration_s, 3),
            "tests": [t.to_gradescope() for t in self.tests],
            "extra_data": {"max_score": self.max_score, "outcome": self.outcome,
                           "slug": self.slug, "grader_version": self.grader_version},
        }
        top = self._top_output()
        if top:
            data["output"] = top
        return data

    def to_prairielearn(self) -> dict[str, Any]:
        """Return PrairieLearn's external-grader ``results.json``.

        ``score`` is the fraction ``score / max_score`` in [0, 1] (PrairieLearn scales it to the
        question's points); ``gradable`` is True (a syntax error or crash is graded with 0, as
        in gradelab itself: it uses an attempt). Hidden tests appear with their fixed-words
        feedback only, like on gradelab's own pages before the due date.
        """
        fraction = self.score / self.max_score if self.max_score > 0 else 0.0
        data: dict[str, Any] = {
            "gradable": True,
            "score": min(1.0, max(0.0, round(fraction, 6))),
            "message": (self.error or f"Score: {self.score:g} / {self.max_score:g}"),
            "tests": [t.to_prairielearn() for t in self.tests],
        }
        top = self._top_output()
        if top:
            data["output"] = top
        return data
