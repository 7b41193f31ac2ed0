"""What a student sees while waiting: position in the queue and an estimate of the wait.

``estimate(sub)`` answers "about 40 s: 37 submissions ahead, 2 graders" from the database alone:

* ``ahead``: submissions sent to the queue before this one and not yet started (``queued`` with
  an earlier ``queued_at``; the broker is first-in first-out per queue);
* ``graders``: grader processes seen finishing work in the last :data:`WINDOW_S` seconds
  (distinct ``GradingRun.worker_host``), at least the number grading right now;
* ``per_job_s``: mean grading time of the last :data:`SAMPLE` runs of that window
  (``GradingRun.duration_s``) of *other* students' submissions (never the student's own: their
  grading time could reflect hidden inputs), plus :data:`HANDLING_S` for claiming and storing;
* ``wait_s`` = (``ahead`` + 1) x ``per_job_s`` / ``graders`` for a queued submission; for a
  running one, ``per_job_s`` minus the time it has been running (at least 1 s); for a held one
  (:mod:`grader.course.fairness`: it waits for the student's earlier submission), that
  submission's wait plus one pass through the whole queue as it is now.

With no grader seen in the window the wait is unknown (None) and the text says so. Times in
seconds; the numbers are estimates, shown rounded ("about 40 s", "about 3 min").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from grader.course.db import db
from grader.course.fairness import earlier_pending
from grader.course.models import GradingRun, Submission, utcnow

#: Seconds of recent gradings that give the throughput.
WINDOW_S = 600
#: Recent runs averaged for the time per grading.
SAMPLE = 50
#: Seconds per job outside grade_source (claim, store, broker round trip).
HANDLING_S = 0.2


@dataclass(frozen=True)
class QueueEstimate:
    """A non-final submission's place in the queue; see the module docstring."""

    state: str  # "queued", "held" (waits for the student's earlier submission) or "running"
    ahead: int  # submissions queued before it (for "held": before the one it waits for)
    graders: int  # grader processes active in the last WINDOW_S seconds
    per_job_s: float | None  # mean seconds per grading, None when unknown
    wait_s: float | None  # estimated seconds until its result, None when unknown
    waits_for: int | None = None  # attempt number of the earlier submission it waits for
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (``wait_s`` rounded to whole seconds)."""
        data = asdict(self)
        data["wait_s"] = None if self.wait_s is None else round(self.wait_s)
        data["per_job_s"] = None if self.per_job_s is None else round(self.per_job_s, 2)
        return data


def throughput(exclude_student_id: int | None = None) -> tuple[int, float | None]:
    """Return ``(graders, per_job_s)`` from the runs of the last :data:`WINDOW_S` seconds.

    ``exclude_student_id``: leave that student's own runs out of the mean, so that the estimate
    shown to a student never carries the grading time of their own code (the page shows times
    to the minute for the same reason: grading time could reflect hidden inputs).
    """
    since = utcnow() - timedelta(seconds=WINDOW_S)
    graders = db.session.scalar(
        select(func.count(func.distinct(GradingRun.worker_host)))
        .where(GradingRun.created_at >= since, GradingRun.worker_host.is_not(None))) or 0
    others = [] if exclude_student_id is None else [
        GradingRun.submission_id.in_(select(Submission.id).where(
            Submission.student_id != exclude_student_id))]
    recent = (select(GradingRun.duration_s)
              .where(GradingRun.created_at >= since, GradingRun.duration_s.is_not(None),
                     *others)
              .order_by(GradingRun.id.desc()).limit(SAMPLE).subquery())
    mean = db.session.scalar(select(func.avg(recent.c.duration_s)))
    running = db.session.scalar(
        select(func.count(Submission.id)).where(Submission.status == "running")) or 0
    per_job = None if mean is None else float(mean) + HANDLING_S
    return max(graders, running), per_job


def _ahead_of(sub: Submission) -> int:
    """Submissions sent to the queue before ``sub`` and not started yet."""
    return db.session.scalar(
        select(func.count(Submission.id)).where(
            Submission.status == "queued", Submission.queued_at.is_not(None),
            or_(Submission.queued_at < sub.queued_at,
                and_(Submission.queued_at == sub.queued_at, Submission.id < sub.id))))


def _queue_length() -> int:
    return db.session.scalar(select(func.count(Submission.id)).where(
        Submission.status == "queued", Submission.queued_at.is_not(None))) or 0


def describe(seconds: float | None) -> str:
    """Round a wait for people: ``"about 40 s"``, ``"about 3 min"``; ``"unknown"`` for None."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"about {max(5, int(round(seconds / 5.0)) * 5)} s"
    if seconds < 3600:
        return f"about {int(round(seconds / 60.0))} min"
    return f"about {seconds / 3600.0:.1f} h"


def estimate(sub: Submission) -> QueueEstimate | None:
    """Return ``sub``'s :class:`QueueEstimate`, or None when it is final."""
    if sub.is_final:
        return None
    graders, per_job = throughput(exclude_student_id=sub.student_id)
    unknown = per_job is None or graders == 0
    if sub.status == "running":
        elapsed = (utcnow() - sub.started_at).total_seconds() if sub.started_at else 0.0
        wait = None if per_job is None else max(per_job - elapsed, 1.0)
        text = "being graded now" + (f", {describe(wait)} left" if wait is not None else "")
        return QueueEstimate("running", 0, graders, per_job, wait, text=text)
    if sub.queued_at is None:  # held: waits for the student's own earlier submission
        earlier = earlier_pending(sub)
        first = estimate(earlier) if earlier is not None else None
        pass_s = None if unknown else (_queue_length() + 1) * per_job / graders
        wait = None if first is None or first.wait_s is None or pass_s is None else (
            first.wait_s + pass_s)
        attempt = earlier.attempt if earlier is not None else None
        known = f"{describe(wait)}: " if wait is not None else ""
        text = (f"{known}queued behind your attempt {attempt}: it joins the queue when that "
                f"one is graded (one queued attempt per student and assignment)"
                if attempt is not None else "waits to join the queue")
        return QueueEstimate("held", first.ahead if first else 0, graders, per_job, wait,
                             waits_for=attempt, text=text)
    ahead = _ahead_of(sub)
    wait = None if unknown else (ahead + 1) * per_job / graders
    grader_text = f"{graders} grader{'s' if graders != 1 else ''}"
    if unknown:
        # With graders seen but no mean, only this student's own runs were in the window (left
        # out on purpose): "no grader has finished" would be false, they just saw one finish.
        why = ("no grader has finished a submission" if graders == 0
               else "no other student's submission was graded")
        text = (f"{ahead} submission{'s' if ahead != 1 else ''} ahead; {why} in the last "
                f"{WINDOW_S // 60} minutes, so no estimate yet")
    else:
        text = (f"{describe(wait)}: {ahead} submission{'s' if ahead != 1 else ''} ahead, "
                f"{grader_text}")
    return QueueEstimate("queued", ahead, graders, per_job, wait, text=text)
