"""Administration commands: create-user, set-password, import-roster, sync-assignments, create-token."""
from __future__ import annotations

import csv
from pathlib import Path

from web_helpers import write_manifest

from grader.engine import settings
from grader.course.db import db
from grader.course.models import Assignment, User, hash_token

REPO_ASSIGNMENTS = Path(__file__).resolve().parents[2] / "assignments"


def test_create_user_hashes_the_password(app, runner):
    result = runner.invoke(args=["create-user", "prof", "--role", "instructor", "--password", "pw1-long-enough"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(username="prof"))
        assert user.role == "instructor" and user.password_hash != "pw1-long-enough" and user.check_password("pw1-long-enough")
    again = runner.invoke(args=["create-user", "prof", "--password", "x"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_create_user_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["create-user", "x", "--role", "admin", "--password", "pw"])
    assert result.exit_code != 0 and "admin" in result.output


def test_import_roster_creates_and_updates_students(app, runner, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("username,name,email\nada,Ada Lovelace,ada@example.org\nbob,Bob,bob@x.org\n")
    passwords = tmp_path / "passwords.csv"
    result = runner.invoke(args=["import-roster", str(roster), "--passwords", str(passwords)])
    assert result.exit_code == 0 and "2 created, 0 updated" in result.output
    roster.write_text("username,name,email\nada,Ada King,ada@example.org\n")
    assert "0 created, 1 updated" in runner.invoke(args=["import-roster", str(roster)]).output
    with passwords.open() as fh:
        rows = list(csv.DictReader(fh))
    with app.app_context():
        ada = db.session.scalar(db.select(User).filter_by(username="ada"))
        assert (ada.name, ada.role) == ("Ada King", "student")
        assert ada.check_password(rows[0]["password"])
    assert passwords.stat().st_mode & 0o077 == 0


def test_import_roster_needs_the_header(runner, tmp_path):
    roster = tmp_path / "bad.csv"
    roster.write_text("user,mail\nada,a@x\n")
    result = runner.invoke(args=["import-roster", str(roster)])
    assert result.exit_code != 0 and "missing column(s) email, name, username" in result.output


def test_set_password(app, runner, make_user):
    make_user("ada")
    assert runner.invoke(args=["set-password", "ada", "--password", "new-pw-long-enough"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(db.select(User).filter_by(username="ada")).check_password("new-pw-long-enough")


def test_sync_assignments_creates_updates_and_deactivates(app, runner, assignments_dir):
    write_manifest(assignments_dir / "one", "one", "First")
    write_manifest(assignments_dir / "two", "two", "Second")
    assert "created: one, two" in runner.invoke(args=["sync-assignments"]).output
    write_manifest(assignments_dir / "one", "one", "First, renamed")
    (assignments_dir / "two" / "manifest.toml").unlink()
    output = runner.invoke(args=["sync-assignments"]).output
    assert "updated: one" in output and "deactivated: two" in output
    with app.app_context():
        rows = {a.slug: a for a in db.session.scalars(db.select(Assignment))}
        assert rows["one"].title == "First, renamed" and rows["one"].max_score == 10.0
        assert rows["two"].active is False


def test_sync_assignments_reads_the_real_course(app, runner):
    settings.override(ASSIGNMENTS_DIR=str(REPO_ASSIGNMENTS))  # the one reader of the folder
    result = runner.invoke(args=["sync-assignments"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        xor = db.session.scalar(db.select(Assignment).filter_by(slug="xor"))
        assert xor.max_attempts > 0 and xor.due_at is not None and xor.tests
        assert xor.max_score == sum(t["points"] for t in xor.tests)


def test_sync_assignments_reports_a_bad_manifest(runner, assignments_dir):
    (assignments_dir / "bad").mkdir()
    (assignments_dir / "bad" / "manifest.toml").write_text('slug = "other"\ntitle = "x"\n')
    result = runner.invoke(args=["sync-assignments"])
    assert result.exit_code != 0


def test_create_token_prints_a_token_stored_as_hash(app, runner, make_user):
    make_user("ada")
    token = runner.invoke(args=["create-token", "ada"]).output.strip()
    with app.app_context():
        assert db.session.scalar(db.select(User).filter_by(username="ada")).api_token_hash == hash_token(token)
    assert runner.invoke(args=["create-token", "nobody"]).exit_code != 0


def test_create_user_refuses_a_short_password(app, runner):
    result = runner.invoke(args=["create-user", "ada", "--password", "short123"])
    assert result.exit_code != 0 and "use at least 10" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(User).filter_by(username="ada")) is None


def test_set_password_refuses_a_short_password(app, runner, make_user):
    make_user("ada")
    result = runner.invoke(args=["set-password", "ada", "--password", "tiny"])
    assert result.exit_code != 0 and "use at least 10" in result.output


def test_create_user_makes_a_ta_limited_to_sections(app, runner):
    result = runner.invoke(args=["create-user", "tim", "--role", "ta", "--password",
                                 "a long password", "--ta-sections", "A, B"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tim = db.session.scalar(db.select(User).filter_by(username="tim"))
        assert (tim.role, tim.ta_sections, tim.is_staff, tim.is_instructor) == ("ta", ["A", "B"], True, False)


def test_import_roster_reads_an_optional_section_column(app, runner, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("username,name,email,section\nada,Ada,ada@example.org,A\nbob,Bob,bob@example.org,B\n")
    result = runner.invoke(args=["import-roster", str(roster)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        sections = dict(db.session.execute(db.select(User.username, User.section)).all())
    assert sections == {"ada": "A", "bob": "B"}
