"""Alembic migrations build the schema from an empty database, matching the models exactly."""
from __future__ import annotations


import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from grader import create_app
from grader.course.db import db
from grader.course.models import Submission, User, utcnow

TABLES = {"user", "assignment", "submission", "grading_run", "score_override", "extension",
          "similarity_report", "lti_registration", "lti_identity", "lti_grade_link", "audit_event",
          "password_reset", "assignment_settings", "regrade_request", "alembic_version"}
# The schema before the audit table (issue 14); upgrading to head also runs e5b17a3c9d42 (TA,
# sections), a9e4c7d21b55 (password reset links, password audit kinds) and a8e4c61d2f57 (course
# settings, regrade requests).
BEFORE_ISSUE_14 = "d7a3b2c9e014"
PREVIOUS_HEAD = "e5b17a3c9d42"  # main's head before a9e4c7d21b55


def migrate_and_check(uri: str) -> None:
    """Upgrade an empty database to head, compare with the models, insert, downgrade to base."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == TABLES
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
        user = User(username="ada", role="student")
        db.session.add(user)
        db.session.commit()
        assert db.session.get(User, user.id).created_at.tzinfo is not None
        db.session.remove()
        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
        db.engine.dispose()


def test_migrations_on_sqlite(tmp_path):
    migrate_and_check(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")


@pytest.mark.postgres
def test_migrations_on_postgresql(make_postgres_database):
    url = make_postgres_database("gradelab_webtest")
    migrate_and_check(url.replace("postgresql://", "postgresql+psycopg://", 1))


def upgrade_from_previous_and_check(uri: str) -> None:
    """Upgrade a database holding data at the pre-issue-14 schema to head; the data survives."""
    from sqlalchemy import text

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade(revision=BEFORE_ISSUE_14)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO \"user\" (id, username, name, email, role, created_at) "
                              "VALUES (1, 'prof', '', '', 'instructor', '2026-01-01'), "
                              "(2, 'ada', '', '', 'student', '2026-01-01')"))
            conn.execute(text(
                "INSERT INTO assignment (id, slug, title, max_attempts, score_policy, "
                "hidden_feedback, late_percent_per_day, late_max_percent, rate_limit_max, "
                "rate_limit_window_s, max_score, tests, active, synced_at) VALUES (1, 'a', 'A', 0, "
                "'best', 'always', 0, 0, 0, 3600, 10, '[]', true, '2026-01-01')"))
            conn.execute(text("INSERT INTO score_override (student_id, assignment_id, score, "
                              "comment, created_by_id, created_at) VALUES (2, 1, 7, 'kept', 1, "
                              "'2026-01-02')"))
        upgrade()
        with db.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == TABLES
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        from grader.course.models import ScoreOverride

        row = db.session.query(ScoreOverride).one()
        assert (row.score, row.comment, row.removed_at) == (7.0, "kept", None)
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()


def test_upgrade_from_the_previous_schema_on_sqlite(tmp_path):
    upgrade_from_previous_and_check(f"sqlite:///{tmp_path / 'previous.sqlite3'}")


@pytest.mark.postgres
def test_upgrade_from_the_previous_schema_on_postgresql(make_postgres_database):
    url = make_postgres_database("gradelab_webtest_prev")
    upgrade_from_previous_and_check(url.replace("postgresql://", "postgresql+psycopg://", 1))


def test_constraints_hold_in_the_database(app, make_user, make_assignment, make_submission):
    uid = make_user("ada")
    aid = make_assignment("a")
    make_submission(uid, aid)
    with app.app_context():
        duplicate = Submission(student_id=uid, assignment_id=aid, attempt=1, filename="x.py",
                               source=b"x", sha256="0" * 64, size_bytes=1, created_at=utcnow())
        db.session.add(duplicate)
        with pytest.raises(Exception, match="UNIQUE"):
            db.session.commit()
        db.session.rollback()
        wrong = Submission(student_id=uid, assignment_id=aid, attempt=2, filename="x.py",
                           source=b"x", sha256="0" * 64, size_bytes=1, status="lost",
                           created_at=utcnow())
        db.session.add(wrong)
        with pytest.raises(Exception, match="CHECK"):
            db.session.commit()
        db.session.rollback()


def password_reset_migration_check(uri: str) -> None:
    """From the previous head (with an audit row) up to head: the new audit kinds are accepted,
    an unknown kind is still refused; down again: the password rows and the table go, the old
    row stays."""
    from sqlalchemy import text

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade(revision=PREVIOUS_HEAD)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO \"user\" (id, username, name, email, role, created_at) "
                              "VALUES (1, 'prof', '', '', 'instructor', '2026-01-01')"))
            conn.execute(text("INSERT INTO audit_event (created_at, kind, reason) "
                              "VALUES ('2026-01-02', 'regrade', 'old row')"))
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_event (created_at, kind, student_id, reason) "
                              "VALUES ('2026-01-03', 'password_changed', 1, '')"))
            conn.execute(text("INSERT INTO password_reset (user_id, token_hash, created_by_id, "
                              "created_at, expires_at) VALUES (1, :h, 1, '2026-01-03', "
                              "'2026-01-06')"), {"h": "0" * 64})
        with pytest.raises(Exception, match="(?i)check"):
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO audit_event (created_at, kind, reason) "
                                  "VALUES ('2026-01-03', 'password_stolen', '')"))
        downgrade(revision=PREVIOUS_HEAD)
        with db.engine.connect() as conn:
            assert "password_reset" not in inspect(conn).get_table_names()
            kinds = conn.execute(text("SELECT kind FROM audit_event")).scalars().all()
        assert kinds == ["regrade"]
        downgrade(revision="base")
        db.engine.dispose()


def test_password_reset_migration_on_sqlite(tmp_path):
    password_reset_migration_check(f"sqlite:///{tmp_path / 'reset.sqlite3'}")


@pytest.mark.postgres
def test_password_reset_migration_on_postgresql(make_postgres_database):
    url = make_postgres_database("gradelab_webtest_reset")
    password_reset_migration_check(url.replace("postgresql://", "postgresql+psycopg://", 1))


BEFORE_SETTINGS = "a9e4c7d21b55"  # the head before course settings and regrade requests


def upgrade_from_before_settings_and_check(uri: str) -> None:
    """From the password-reset head: audit rows survive the new kind CHECK; new kinds are
    accepted; a downgrade drops the new tables and the rows of new kinds only."""
    from sqlalchemy import text

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade(revision=BEFORE_SETTINGS)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_event (created_at, kind, reason) "
                              "VALUES ('2026-01-01', 'release', 'kept')"))
        upgrade()
        with db.engine.begin() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
            conn.execute(text("INSERT INTO audit_event (created_at, kind, reason) "
                              "VALUES ('2026-01-02', 'setting', 'new kind')"))
            with pytest.raises(Exception, match="(?i)check"):
                with conn.begin_nested():
                    conn.execute(text("INSERT INTO audit_event (created_at, kind, reason) "
                                      "VALUES ('2026-01-02', 'unknown', 'refused')"))
        downgrade(revision=BEFORE_SETTINGS)
        with db.engine.connect() as conn:
            assert {"assignment_settings", "regrade_request"}.isdisjoint(
                inspect(conn).get_table_names())
            assert conn.execute(text("SELECT reason FROM audit_event")).scalars().all() == ["kept"]
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()


def test_upgrade_from_before_course_settings_on_sqlite(tmp_path):
    upgrade_from_before_settings_and_check(f"sqlite:///{tmp_path / 'settings.sqlite3'}")


@pytest.mark.postgres
def test_upgrade_from_before_course_settings_on_postgresql(make_postgres_database):
    url = make_postgres_database("gradelab_webtest_settings")
    upgrade_from_before_settings_and_check(url.replace("postgresql://", "postgresql+psycopg://", 1))


BEFORE_RESULTS_ONCE = "a8e4c61d2f57"  # main's head before 3b8f1d6c2e47 (grading_run.results)


def grading_run_results_migration_check(uri: str) -> None:
    """From the schema with the ``results`` copy up to head: a run's per-test results are
    its report's tests (a report without them gets the old copy); down again: the column is
    back, filled from the report."""
    import json

    from sqlalchemy import text

    tests = [{"name": "t1", "score": 1.0}, {"name": "t2", "score": 0.0}]
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        upgrade(revision=BEFORE_RESULTS_ONCE)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO \"user\" (id, username, name, email, role, created_at) "
                              "VALUES (2, 'ada', '', '', 'student', '2026-01-01')"))
            conn.execute(text(
                "INSERT INTO assignment (id, slug, title, max_attempts, score_policy, "
                "hidden_feedback, late_percent_per_day, late_max_percent, rate_limit_max, "
                "rate_limit_window_s, max_score, tests, active, synced_at) VALUES (1, 'a', 'A', 0, "
                "'best', 'always', 0, 0, 0, 3600, 10, '[]', true, '2026-01-01')"))
            conn.execute(text(
                "INSERT INTO submission (id, student_id, assignment_id, attempt, filename, source, "
                "sha256, size_bytes, status, created_at, queued_at, grading_tries, send_pending) "
                "VALUES "
                "(1, 2, 1, 1, 'a.py', :src, '', 1, 'graded', '2026-01-02', '2026-01-02', 0, false)"),
                {"src": b"x"})
            for run_id, report in ((1, {"score": 1.0, "tests": tests}), (2, {"score": 1.0})):
                conn.execute(text(
                    "INSERT INTO grading_run (id, submission_id, grader_version, outcome, score, "
                    "report, results, created_at) VALUES (:id, 1, 'engine-1', 'graded', 1.0, "
                    ":report, :results, '2026-01-02')"),
                    {"id": run_id, "report": json.dumps(report), "results": json.dumps(tests)})
        upgrade()
        with db.engine.connect() as conn:
            assert "results" not in {c["name"] for c in inspect(conn).get_columns("grading_run")}
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        from grader.course.models import GradingRun

        runs = db.session.query(GradingRun).order_by(GradingRun.id).all()
        assert [run.results for run in runs] == [tests, tests]
        assert runs[0].report == {"score": 1.0, "tests": tests}
        db.session.remove()
        downgrade(revision=BEFORE_RESULTS_ONCE)
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT results FROM grading_run ORDER BY id")).scalars().all()
        assert [r if isinstance(r, list) else json.loads(r) for r in rows] == [tests, tests]
        downgrade(revision="base")
        db.engine.dispose()


def test_grading_run_results_migration_on_sqlite(tmp_path):
    grading_run_results_migration_check(f"sqlite:///{tmp_path / 'results.sqlite3'}")


@pytest.mark.postgres
def test_grading_run_results_migration_on_postgresql(make_postgres_database):
    url = make_postgres_database("gradelab_webtest_results")
    grading_run_results_migration_check(url.replace("postgresql://", "postgresql+psycopg://", 1))
