"""The similarity report job (issue 16 §3): an instructor's request is stored and queued; the
worker compares each student's last upload (:func:`grader.course.similarity.compare_all`) and
stores the most similar pairs on the report.
"""
from __future__ import annotations

from sqlalchemy import func, select

from grader.course.catalog import assignment_folder
from grader.course.celery_app import SIMILARITY_TASK
from grader.course.db import db
from grader.course.models import Assignment, SimilarityReport, Submission, User, utcnow
from grader.course.queue import celery
from grader.course.similarity import compare_all

KEEP_PAIRS = 100


def latest_sources(assignment_id: int) -> dict[str, tuple[int, str]]:
    """Return ``{username: (submission id, source)}``: each student's last upload of the
    assignment (instructors' own test uploads excluded)."""
    last = (select(Submission.student_id, func.max(Submission.attempt).label("attempt"))
            .where(Submission.assignment_id == assignment_id)
            .group_by(Submission.student_id).subquery())
    rows = db.session.execute(
        select(User.username, Submission.id, Submission.source)
        .join(Submission, Submission.student_id == User.id)
        .join(last, (last.c.student_id == Submission.student_id)
              & (last.c.attempt == Submission.attempt))
        .where(Submission.assignment_id == assignment_id, User.role == "student")).all()
    return {name: (sid, bytes(src).decode("utf-8", "replace")) for name, sid, src in rows}


def run_report(report_id: int) -> str:
    """Compute similarity report ``report_id`` (idempotent: a finished report is left as it
    is) and store its pairs; return its status. Any error is stored on the report for the
    instructor ("failed") rather than raised: the job is not retried."""
    report = db.session.get(SimilarityReport, report_id)
    if report is None or report.status in ("done", "failed"):
        return report.status if report else "missing"
    report.status = "running"
    db.session.commit()
    try:
        sources = latest_sources(report.assignment_id)
        starter_path = assignment_folder(report.assignment) / "starter.py"
        starter = starter_path.read_text("utf-8") if starter_path.is_file() else ""
        pairs = compare_all({name: text for name, (_, text) in sources.items()}, starter)
        report.pairs = [p.to_dict() | {"a_submission": sources[p.a][0],
                                       "b_submission": sources[p.b][0]}
                        for p in pairs[:KEEP_PAIRS]]
        report.students = len(sources)
        report.status = "done"
    except Exception as exc:  # noqa: BLE001 - stored for the instructor, never retried
        db.session.rollback()
        report = db.session.get(SimilarityReport, report_id)
        report.status = "failed"
        report.error = f"{type(exc).__name__}: {exc}"[:2000]
    report.finished_at = utcnow()
    db.session.commit()
    return report.status


def request_report(assignment: Assignment, user: User) -> SimilarityReport:
    """Store a queued report for ``assignment`` requested by ``user``, commit, then send the
    job. If the broker cannot be reached the report is marked failed with the reason."""
    report = SimilarityReport(assignment_id=assignment.id, requested_by_id=user.id)
    db.session.add(report)
    db.session.commit()
    app_celery = celery()
    try:
        app_celery.tasks[SIMILARITY_TASK].apply_async(args=[report.id])
    except Exception as exc:  # noqa: BLE001 - any broker failure is shown, nothing is lost
        if app_celery.conf.task_always_eager:
            raise
        report.status, report.error = "failed", f"the job queue cannot be reached ({exc}); try again"
        report.finished_at = utcnow()
        db.session.commit()
    return report
