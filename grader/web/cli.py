"""Course administration commands of ``python -m grader`` (they run in the Flask app context)."""
from __future__ import annotations

import csv
import logging
import secrets
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from grader.course.db import db
from grader.course.models import MIN_PASSWORD_LENGTH, ROLES, User

log = logging.getLogger(__name__)


def create_user(username: str, role: str, password: str | None, name: str = "",
                email: str = "", section: str = "", ta_sections: list[str] | None = None) -> User:
    """Create a user (password hashed) and commit.

    ``section``: a student's section; ``ta_sections``: the sections a TA is limited to (empty:
    all). Raises click.UsageError if the name is taken or the password is shorter than
    :data:`grader.course.models.MIN_PASSWORD_LENGTH`.
    """
    if db.session.scalar(select(User).where(User.username == username)) is not None:
        raise click.UsageError(f"user {username!r} already exists; choose another name.")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"the password has {len(password)} characters; use at least "
                               f"{MIN_PASSWORD_LENGTH}.")
    user = User(username=username, role=role, name=name, email=email, section=section.strip(),
                ta_sections=[t.strip() for t in ta_sections or [] if t.strip()])
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def import_roster(path: Path) -> tuple[list[str], list[str]]:
    """Create one student per CSV row (``username,name,email`` header required, ``section``
    optional).

    Existing usernames get their name and email (and section, when the column is there) updated. Returns ``(created, updated)``.
    New students get no password: set one with ``create-user`` or a password reset by the
    instructor. Raises click.UsageError for a file without the required columns.
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"username", "name", "email"} - set(reader.fieldnames or [])
        if missing:
            raise click.UsageError(f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                                   "the header must be username,name,email.")
        created, updated = [], []
        for row in reader:
            username = (row["username"] or "").strip()
            if not username:
                continue
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                user = User(username=username, role="student")
                db.session.add(user)
                created.append(username)
            else:
                updated.append(username)
            user.name = (row["name"] or "").strip()
            user.email = (row["email"] or "").strip()
            if "section" in row:
                user.section = (row["section"] or "").strip()[:50]
    db.session.commit()
    return created, updated


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="student", show_default=True)
@click.option("--password", help="Initial password (prompted for when omitted).")
@click.option("--name", default="", help="Full name.")
@click.option("--email", default="", help="E-mail address.")
@click.option("--section", default="", help="A student's section (e.g. A).")
@click.option("--ta-sections", default="", help="Comma-separated sections a TA is limited to "
              "(default: every section).")
@with_appcontext
def create_user_command(username: str, role: str, password: str | None, name: str,
                        email: str, section: str, ta_sections: str) -> None:
    """Create a student, TA or instructor account (passwords: at least 10 characters)."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    create_user(username, role, password, name, email, section, ta_sections.split(","))
    click.echo(f"created {role} {username}")


@click.command("set-password")
@click.argument("username")
@click.option("--password", help="New password (prompted for when omitted).")
@with_appcontext
def set_password_command(username: str, password: str | None) -> None:
    """Set a user's password (e.g. for students created by import-roster)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.UsageError(f"no user {username!r}")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"the password has {len(password)} characters; use at least "
                               f"{MIN_PASSWORD_LENGTH}.")
    user.set_password(password)
    db.session.commit()
    click.echo(f"password of {username} set")


@click.command("import-roster")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--passwords", type=click.Path(dir_okay=False, path_type=Path),
              help="Write username,password for every NEW student to this CSV file.")
@with_appcontext
def import_roster_command(csv_path: Path, passwords: Path | None) -> None:
    """Create students from a CSV with the columns username,name,email."""
    created, updated = import_roster(csv_path)
    if passwords and created:
        with passwords.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["username", "password"])
            for username in created:
                user = db.session.scalar(select(User).where(User.username == username))
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                writer.writerow([username, password])
        db.session.commit()
        passwords.chmod(0o600)
    click.echo(f"{len(created)} created, {len(updated)} updated")


@click.command("sync-assignments")
@with_appcontext
def sync_assignments_command() -> None:
    """Create or update the assignments from ASSIGNMENTS_DIR/<slug>/manifest.toml."""
    from grader.course.catalog import sync_assignments

    result = sync_assignments()
    click.echo(f"created: {', '.join(result.created) or '-'}; updated: "
               f"{', '.join(result.updated) or '-'}; deactivated: {', '.join(result.deactivated) or '-'}")


@click.command("create-token")
@click.argument("username")
@with_appcontext
def create_token_command(username: str) -> None:
    """Print a new API token for USERNAME (the previous one stops working)."""
    from grader.web.auth import issue_token

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.UsageError(f"no user {username!r}")
    click.echo(issue_token(user))


@click.command("seed-demo")
@click.option("--students", "n_students", type=click.IntRange(1, 100_000), default=2000,
              show_default=True, help="How many students to create.")
@click.option("--sections", default="ABCDEFGH", show_default=True,
              help="Section letters (one character each) to spread the students over.")
@click.option("--seed", type=int, default=14, show_default=True, help="Random seed.")
@with_appcontext
def seed_demo_command(n_students: int, sections: str, seed: int) -> None:
    """Fill an EMPTY course with made-up students and graded submissions (demos, benchmarks).

    Refuses a database that already has students. Run sync-assignments (and create an
    instructor, who then owns the seeded overrides and extensions) first.
    """
    from grader.course.demo import seed_course, student_count

    if student_count():
        raise click.UsageError("the database already has students; seed-demo only fills an "
                               "empty course (it makes up grades).")
    try:
        result = seed_course(n_students, sections=tuple(sections), seed=seed)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"seeded {result.students} students, {result.submissions} submissions, "
               f"{result.overrides} overrides, {result.extensions} extensions")


def register(cli: click.Group) -> None:
    """Attach the web administration commands to the ``python -m grader`` group."""
    for command in (create_user_command, set_password_command, import_roster_command,
                    sync_assignments_command, create_token_command, seed_demo_command):
        cli.add_command(command)
