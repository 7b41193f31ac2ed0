"""The course's database handle: Flask-SQLAlchemy's ``db`` and the migrations folder.

Bound to an app by :func:`grader.web.extensions.init_app`; the models
(:mod:`grader.course.models`) and every service use ``db.session``.
"""
from __future__ import annotations

from pathlib import Path

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so that Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every gradelab model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
