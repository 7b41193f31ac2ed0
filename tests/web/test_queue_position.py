"""Queue position and wait estimate on the submission page, its status poll and the API
(grader.course.waiting), and the fair-share hold of a second upload (grader.course.fairness)."""
from __future__ import annotations

from datetime import timedelta

from grader.course import services
from grader.web.auth import issue_token
from grader.course.db import db
from grader.course.models import Assignment, GradingRun, Submission, User, utcnow
from grader.course.waiting import describe

GOOD = b"def forward(x):\n    return x\n"


def _queue_scene(app, make_user, make_assignment, make_submission, ahead=37):
    """``ahead`` other students' submissions queued, then ada's; two graders finished runs of
    1.0 s each in the last minutes. Returns (ada's submission id, the ids ahead of it)."""
    aid = make_assignment("mlp")
    earlier = utcnow() - timedelta(minutes=2)
    # Two grader processes finished work recently (1.0 s per grading each).
    done = make_submission(make_user("done0"), aid, scores=(1.0, 1.0), created_at=earlier)
    with app.app_context():
        for i, host in enumerate(("host-a:11", "host-b:12", "host-a:11", "host-b:12")):
            db.session.add(GradingRun(submission_id=done, outcome="graded", score=1.0,
                                      max_score=2.0, duration_s=1.0, worker_host=host,
                                      created_at=utcnow() - timedelta(seconds=30 + i)))
        # The fixture's own run has no duration: only these four count for the mean.
        for run in db.session.get(Submission, done).runs:
            if run.worker_host == "test":
                run.created_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    ids = []
    for i in range(ahead):
        ids.append(make_submission(make_user(f"s{i:02d}"), aid,
                                   created_at=earlier + timedelta(seconds=i)))
    ada = make_user("ada")
    mine = make_submission(ada, aid, created_at=utcnow())
    return mine, ids


def test_page_poll_and_api_show_position_and_estimate(app, client, login, make_user,
                                                      make_assignment, make_submission):
    mine, ahead_ids = _queue_scene(app, make_user, make_assignment, make_submission)
    # (37 ahead + this one) x (1.0 s + 0.2 s handling) / 2 graders = 22.8 s
    expected = "about 25 s: 37 submissions ahead, 2 graders"
    login("ada")
    page = client.get(f"/submissions/{mine}").get_data(as_text=True)
    assert expected in page
    assert "Fair share" in page
    status = client.get(f"/submissions/{mine}/status.json").get_json()
    assert status["queue"]["text"] == expected
    assert status["queue"] | {"text": None} == {
        "state": "queued", "ahead": 37, "graders": 2, "per_job_s": 1.2, "wait_s": 23,
        "waits_for": None, "text": None}
    with app.app_context():
        token = issue_token(db.session.scalar(db.select(User).filter_by(username="ada")))
    api = client.get(f"/api/submissions/{mine}",
                     headers={"Authorization": f"Bearer {token}"}).get_json()
    assert api["queue"] == status["queue"]

    # The queue moves: ten of those ahead are graded, two are being graded.
    with app.app_context():
        for sid in ahead_ids[:10]:
            db.session.get(Submission, sid).status = "graded"
        for sid in ahead_ids[10:12]:
            sub = db.session.get(Submission, sid)
            sub.status, sub.started_at = "running", utcnow()
        db.session.commit()
    moved = client.get(f"/submissions/{mine}/status.json").get_json()["queue"]
    assert moved["ahead"] == 25
    assert moved["text"] == "about 15 s: 25 submissions ahead, 2 graders"  # 26 x 1.2 / 2 = 15.6

    # Being graded, then final: no queue any more.
    with app.app_context():
        sub = db.session.get(Submission, mine)
        sub.status, sub.started_at = "running", utcnow()
        db.session.commit()
    running = client.get(f"/submissions/{mine}/status.json").get_json()["queue"]
    assert running["state"] == "running" and running["text"].startswith("being graded now")
    with app.app_context():
        db.session.get(Submission, mine).status = "graded"
        db.session.commit()
    assert client.get(f"/submissions/{mine}/status.json").get_json()["queue"] is None
    assert "submissions ahead" not in client.get(f"/submissions/{mine}").get_data(as_text=True)


def test_no_recent_grader_means_no_estimate(app, client, login, make_user, make_assignment,
                                            make_submission):
    aid = make_assignment("mlp")
    make_submission(make_user("bob"), aid)
    mine = make_submission(make_user("ada"), aid)
    login("ada")
    queue = client.get(f"/submissions/{mine}/status.json").get_json()["queue"]
    assert queue["ahead"] == 1 and queue["wait_s"] is None and queue["graders"] == 0
    assert "no grader has finished a submission" in queue["text"]


def test_second_upload_is_held_until_the_first_is_final(app, make_user, make_assignment):
    aid = make_assignment("mlp")
    uid = make_user("ada")
    with app.app_context():
        ada, mlp = db.session.get(User, uid), db.session.get(Assignment, aid)
        first = services.submit(ada, mlp, "a.py", GOOD)
        second = services.submit(ada, mlp, "b.py", GOOD)
        third = services.submit(ada, mlp, "c.py", GOOD)
        assert first.queued_at is not None
        assert second.queued_at is None and third.queued_at is None  # held, not sent
        assert second.status == third.status == "queued"
        from grader.course.fairness import release_after
        from grader.course.waiting import estimate

        held = estimate(third)
        assert held.state == "held" and held.waits_for == 2
        assert release_after(first.id) is None  # the first is not final yet: nothing moves
        first.status = "graded"
        db.session.commit()
        assert release_after(first.id) == second.id  # only the next one, in upload order
        db.session.expire_all()
        assert db.session.get(Submission, second.id).queued_at is not None
        assert db.session.get(Submission, third.id).queued_at is None
        assert release_after(first.id) is None  # released once
        # Another student's upload is never held by ada's.
        bob = db.session.get(User, make_user("bob"))
        assert services.submit(bob, mlp, "x.py", GOOD).queued_at is not None


def test_describe_rounds_for_people():
    assert describe(None) == "unknown"
    assert describe(1.0) == "about 5 s"
    assert describe(41.0) == "about 40 s"
    assert describe(150.0) == "about 2 min"
    assert describe(5400.0) == "about 1.5 h"


def test_only_own_recent_runs_say_so_not_that_no_grader_finished(app, client, login, make_user,
                                                                  make_assignment, make_submission):
    """A fresh user's second upload, with only their own first one graded in the last 10
    minutes, was told "no grader has finished a submission in the last 10 minutes"."""
    aid = make_assignment("mlp")
    ada = make_user("ada")
    first = make_submission(ada, aid, created_at=utcnow() - timedelta(minutes=3), status="graded")
    with app.app_context():
        db.session.add(GradingRun(submission_id=first, outcome="graded", score=1.0, max_score=2.0,
                                  duration_s=3.0, worker_host="host-a:11", created_at=utcnow()))
        db.session.commit()
    mine = make_submission(ada, aid, created_at=utcnow())
    login("ada")
    queue = client.get(f"/submissions/{mine}/status.json").get_json()["queue"]
    assert queue["graders"] == 1 and queue["wait_s"] is None
    assert queue["text"] == ("0 submissions ahead; no other student's submission was graded in "
                             "the last 10 minutes, so no estimate yet")


def test_estimate_never_uses_the_students_own_grading_times(app, client, login, make_user,
                                                            make_assignment, make_submission):
    """A student's own runs (their grading time could reflect hidden inputs) are left out."""
    mine, _ = _queue_scene(app, make_user, make_assignment, make_submission, ahead=3)
    with app.app_context():
        ada = db.session.scalar(db.select(User).filter_by(username="ada"))
        earlier = make_submission(ada.id, db.session.get(Submission, mine).assignment_id,
                                  created_at=utcnow() - timedelta(minutes=1), status="graded")
        db.session.add(GradingRun(submission_id=earlier, outcome="graded", score=1.0,
                                  max_score=2.0, duration_s=97.0, worker_host="host-a:11",
                                  created_at=utcnow()))
        db.session.commit()
    login("ada")
    queue = client.get(f"/submissions/{mine}/status.json").get_json()["queue"]
    assert queue["per_job_s"] == 1.2  # the others' 1.0 s + 0.2 s, not pulled up by the 97 s
    assert queue["text"] == "about 5 s: 3 submissions ahead, 2 graders"  # 4 x 1.2 / 2 = 2.4
