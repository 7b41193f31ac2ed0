"""A seeded course for demos, screenshots and ``bench/gradebook.py``: thousands of students with
graded submissions, in sections, some late, missing, overridden, extended or not gradable.

The submissions are stored already graded (a made-up one-line source and a grading run whose
per-test results follow the score); nothing is queued and no student code runs. Deterministic for
a given ``seed``. Never for a real course: ``python -m grader seed-demo`` refuses a database
that already has students.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from grader.course.db import db
from grader.course.models import (
    Assignment,
    Extension,
    GradingRun,
    ScoreOverride,
    Submission,
    User,
    utcnow,
)

FIRST = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret",
         "Claude", "Radia", "Tim", "Katherine", "Dennis", "Shafi", "Yann", "Fei-Fei", "Geoffrey",
         "Leslie", "Hedy", "Niklaus", "Sophie", "Ken", "Karen", "Juan", "Mei", "Amara", "Ravi")
LAST = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "McCarthy",
        "Hamilton", "Shannon", "Perlman", "Berners-Lee", "Johnson", "Ritchie", "Goldwasser",
        "LeCun", "Li", "Hinton", "Lamport", "Lamarr", "Wirth", "Wilson", "Thompson",
        "Spärck Jones", "García", "Chen", "Okafor", "Iyer")
SOURCE = b"# seeded submission (grader.course.demo); never graded for real\n"


@dataclass(frozen=True)
class SeedResult:
    """What :func:`seed_course` stored."""

    students: int
    submissions: int
    overrides: int
    extensions: int


def seed_course(n_students: int = 2000, *, sections: tuple[str, ...] = tuple("ABCDEFGH"),
                seed: int = 14, staff: User | None = None, prefix: str = "s",
                now: datetime | None = None) -> SeedResult:
    """Create ``n_students`` students (``<prefix>0001``...) with submissions to every assignment.

    Per student and assignment: 8 % nothing (missing), else 1-4 attempts, of which ~4 % are
    ``not_gradable`` and ~4 % ``error``; scores spread over ``[0, max_score]``; ~15 % of the
    uploads are up to 3 days late. ~2 % of the pairs get a manual score and ~3 % an extension,
    both by ``staff`` (default: the first instructor; none are made without one). Assignments
    must exist (``sync-assignments``); raises ``ValueError`` otherwise. Commits.
    """
    rng = random.Random(seed)
    now = now or utcnow()
    assignments = list(db.session.scalars(select(Assignment).order_by(Assignment.id)))
    if not assignments:
        raise ValueError("no assignments to seed submissions for; run sync-assignments first")
    if staff is None:
        staff = db.session.scalar(select(User).where(User.role == "instructor").order_by(User.id))
    students = _new_students(n_students, prefix=prefix, sections=sections, now=now, rng=rng)
    db.session.add_all(students)
    db.session.flush()
    submissions = overrides = extensions = 0
    for student in students:
        for assignment in assignments:
            if rng.random() < 0.08:
                continue
            submissions += _seed_attempts(student, assignment, now=now, rng=rng)
            if staff is not None and rng.random() < 0.02:
                db.session.add(ScoreOverride(
                    student_id=student.id, assignment_id=assignment.id,
                    score=round(rng.uniform(0.5, 1.0) * (assignment.max_score or 10.0), 1),
                    comment="seeded: oral exam", created_by_id=staff.id, created_at=now))
                overrides += 1
            if staff is not None and assignment.due_at is not None and rng.random() < 0.03:
                db.session.add(Extension(
                    student_id=student.id, assignment_id=assignment.id,
                    due_at=assignment.due_at + timedelta(days=rng.randint(1, 5)),
                    comment="seeded: accommodation", created_by_id=staff.id, created_at=now))
                extensions += 1
        if len(db.session.new) > 4000:
            db.session.flush()
    db.session.commit()
    return SeedResult(len(students), submissions, overrides, extensions)


def _new_students(n_students: int, *, prefix: str, sections: tuple[str, ...], now: datetime,
                  rng: random.Random) -> list[User]:
    """``n_students`` new students ``<prefix>0001``... with random names and sections (not yet
    added to the session). Raises ``ValueError`` when one of the usernames is taken."""
    taken = set(db.session.scalars(select(User.username).where(User.username.like(f"{prefix}%"))))
    students = []
    for i in range(1, n_students + 1):
        username = f"{prefix}{i:04d}"
        if username in taken:
            raise ValueError(f"user {username} exists already; seed an empty course")
        first, last = rng.choice(FIRST), rng.choice(LAST)
        students.append(User(username=username, role="student", name=f"{first} {last}",
                             email=f"{first.lower()}.{username}@example.edu",
                             section=rng.choice(sections) if sections else "", created_at=now))
    return students


def _seed_attempts(student: User, assignment: Assignment, *, now: datetime,
                   rng: random.Random) -> int:
    """Add 1-4 graded (~4 % ``not_gradable``, ~4 % ``error``) attempts of ``student`` with
    their runs, ~15 % of them up to 3 days late; return how many."""
    due = assignment.due_at or now
    maximum = assignment.max_score or 10.0
    skill = rng.betavariate(5, 2)
    attempts = rng.randint(1, 4)
    for attempt in range(1, attempts + 1):
        when = due - timedelta(hours=rng.uniform(1, 240))
        if rng.random() < 0.15:
            when = due + timedelta(hours=rng.uniform(0.1, 72))
        roll = rng.random()
        status = "not_gradable" if roll < 0.04 else "error" if roll < 0.08 else "graded"
        score = None if status == "not_gradable" else \
            round(min(maximum, maximum * skill * rng.uniform(0.6, 1.15)), 2)
        sub = Submission(student_id=student.id, assignment_id=assignment.id,
                         attempt=attempt, filename="solution.py", source=SOURCE,
                         sha256=hashlib.sha256(SOURCE).hexdigest(),
                         size_bytes=len(SOURCE), status=status, created_at=when,
                         queued_at=when, started_at=when,
                         finished_at=when + timedelta(seconds=20), score=score,
                         max_score=maximum,
                         error="seeded: the grader failed" if status != "graded" else None)
        sub.runs.append(_run(assignment, status, score, maximum, when, rng))
        db.session.add(sub)
    return attempts


def _run(assignment: Assignment, status: str, score: float | None, maximum: float,
         when: datetime, rng: random.Random) -> GradingRun:
    """A grading run whose per-test results add up to ``score`` (tests of the manifest)."""
    tests = assignment.tests or [{"name": "all", "part": "", "points": maximum,
                                  "visibility": "visible"}]
    fraction = 0.0 if score is None or not maximum else score / maximum
    results = []
    for t in tests:
        points = float(t.get("points", 0.0))
        passed = rng.random() < fraction
        results.append({"name": t["name"], "part": t.get("part", ""), "status":
                        "passed" if passed else "failed", "score": points if passed else 0.0,
                        "max_score": points, "visibility": t.get("visibility", "visible"),
                        "feedback": "" if passed else "seeded: wrong values"})
    return GradingRun(grader_version="seed", outcome=status, score=score, max_score=maximum,
                      error=None if status == "graded" else "seeded: the grader failed",
                      report={"outcome": status, "score": score, "max_score": maximum,
                              "tests": results},
                      duration_s=20.0, worker_host="seed",
                      created_at=when + timedelta(seconds=20))


def student_count() -> int:
    """Number of students in the database."""
    return db.session.scalar(select(func.count(User.id)).where(User.role == "student")) or 0
