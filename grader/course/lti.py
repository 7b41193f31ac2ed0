"""gradelab as an LTI 1.3 tool (issue 16 §1): registrations, launches, grade passback (AGS).

Built on ``pylti1p3`` (OIDC login, id_token validation: signature against the platform's JWKS,
issuer, audience, expiry, nonce, deployment) and ``cachelib`` (the login state and nonces between
the two launch steps: Redis when ``REDIS_URL`` is set, else files in the instance folder).

* :class:`DbToolConf` looks registrations up in the database (``LtiRegistration``), so an
  instructor registers a platform in the web UI, no configuration file.
* :func:`tool_private_key` is the tool's RSA key: ``GRADELAB_LTI_PRIVATE_KEY`` (PEM), else kept in
  ``instance/lti_private_key.pem`` (mode 600, made on first use, like the session and seed keys);
  its public half is served as the tool's JWKS.
* :func:`sign_in` maps the launch to an account: (registration, ``sub``) -> user, created on the
  first launch with the LMS role mapped (Instructor/Administrator -> instructor, TeachingAssistant
  -> ta where that role exists, else student; anything else -> student) and remembers the AGS
  line item of (user, assignment).
* :func:`send_score` posts the counted score (after late penalty and overrides, as the
  gradebook shows it) to the line item; :func:`schedule_passback` sends that job (Celery task
  ``worker.tasks.lti_passback``, retried with back-off) whenever the counted score may have
  changed. A failure is stored on the link for instructors and never touches the local grade.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from grader.course.celery_app import LTI_PASSBACK_TASK
from grader.course.db import db
from grader.course.gradebook import build_gradebook
from grader.course.models import (
    ROLES,
    Assignment,
    LtiGradeLink,
    LtiIdentity,
    LtiRegistration,
    User,
    utcnow,
)

log = logging.getLogger(__name__)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
INSTRUCTOR_ROLES = ("#Instructor", "#Administrator", "/Instructor", "/Administrator")
TA_ROLES = ("#TeachingAssistant", "/TeachingAssistant")


class LaunchRefused(Exception):
    """A launch that cannot sign anyone in; the message is shown on the error page."""


def tool_private_key() -> str:
    """Return the tool's RSA private key (PEM text), creating and keeping it on first use.

    Source: ``LTI_PRIVATE_KEY`` in the app config (``GRADELAB_LTI_PRIVATE_KEY``), else the file
    ``LTI_PRIVATE_KEY_FILE`` (default ``<instance>/lti_private_key.pem``, written mode 600).
    """
    pem = current_app.config.get("LTI_PRIVATE_KEY")
    if pem:
        return str(pem)
    path = Path(current_app.config.get("LTI_PRIVATE_KEY_FILE")
                or Path(current_app.instance_path) / "lti_private_key.pem")
    if not path.is_file():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        log.info("made the LTI tool key %s", path)
    return path.read_text("utf-8")


def tool_public_jwk() -> dict[str, Any]:
    """Return the tool's public key as a JWK (``kty``, ``n``, ``e``, ``kid``, ``alg``, ``use``)."""
    from cryptography.hazmat.primitives import serialization
    from pylti1p3.registration import Registration

    private = serialization.load_pem_private_key(tool_private_key().encode(), password=None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return dict(Registration.get_jwk(public_pem))


def _registration(row: LtiRegistration):
    from pylti1p3.registration import Registration

    reg = (Registration().set_issuer(row.issuer).set_client_id(row.client_id)
           .set_auth_login_url(row.auth_login_url).set_auth_token_url(row.auth_token_url)
           .set_tool_private_key(tool_private_key()))
    if row.key_set:
        reg.set_key_set(row.key_set)
    if row.key_set_url:
        reg.set_key_set_url(row.key_set_url)
    return reg


def make_tool_conf():
    """Return a pylti1p3 tool configuration that reads ``LtiRegistration`` rows."""
    from pylti1p3.deployment import Deployment
    from pylti1p3.tool_config.abstract import ToolConfAbstract

    class DbToolConf(ToolConfAbstract):
        """Registrations from the database; an issuer may have several client ids."""

        def _row(self, iss: str, client_id: str | None) -> LtiRegistration | None:
            query = select(LtiRegistration).where(LtiRegistration.issuer == iss)
            if client_id:
                query = query.where(LtiRegistration.client_id == client_id)
            rows = db.session.scalars(query.order_by(LtiRegistration.id)).all()
            return rows[0] if len(rows) == 1 or (rows and client_id) else None

        def check_iss_has_one_client(self, iss: str) -> bool:
            return False

        def check_iss_has_many_clients(self, iss: str) -> bool:
            return True

        def find_registration_by_issuer(self, iss, *args, **kwargs):
            row = self._row(iss, None)
            return _registration(row) if row else None

        def find_registration_by_params(self, iss, client_id, *args, **kwargs):
            row = self._row(iss, client_id)
            return _registration(row) if row else None

        def find_deployment(self, iss, deployment_id):
            row = self._row(iss, None)
            return self._deployment(row, deployment_id)

        def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
            return self._deployment(self._row(iss, client_id), deployment_id)

        @staticmethod
        def _deployment(row, deployment_id):
            if row is None or deployment_id not in (row.deployment_ids or []):
                return None
            return Deployment().set_deployment_id(deployment_id)

    return DbToolConf()


def launch_cache():
    """Return the cache that keeps OIDC state and nonces between login and launch (cachelib):
    Redis when ``REDIS_URL`` is configured, else a folder in the instance path."""
    url = current_app.config.get("LTI_CACHE_REDIS_URL") or current_app.config.get("REDIS_URL")
    if url:
        import redis
        from cachelib import RedisCache

        return RedisCache(redis.Redis.from_url(url), key_prefix="gradelab-lti:",
                          default_timeout=600)
    from cachelib import FileSystemCache

    return FileSystemCache(str(Path(current_app.instance_path) / "lti-cache"), default_timeout=600)


def map_role(roles: list[str]) -> str:
    """Map LTI role URIs to a gradelab role (see the module docstring)."""
    if any(r.endswith(INSTRUCTOR_ROLES) for r in roles):
        return "instructor"
    if any(r.endswith(TA_ROLES) for r in roles):
        return "ta" if "ta" in ROLES else "student"
    return "student"


def _username(row: LtiRegistration, data: dict[str, Any]) -> str:
    wanted = (data.get("email") or "").split("@")[0] or data.get(
        CLAIM + "lis", {}).get("person_sourcedid") or ""
    wanted = "".join(c for c in wanted.lower() if c.isalnum() or c in "._-")[:60]
    tag = hashlib.sha256(f"{row.id}:{data['sub']}".encode()).hexdigest()[:8]
    base = wanted or "lti"
    if wanted and db.session.scalar(select(User.id).where(User.username == wanted)) is None:
        return wanted
    return f"{base}-{tag}"


def sign_in(data: dict[str, Any]) -> tuple[User, Assignment | None]:
    """Return the account of a validated launch (created on first launch) and the assignment
    it opens (custom parameter ``assignment`` = slug, else None), and remember the AGS line
    item. Raises :class:`LaunchRefused` for a launch without a subject or registration."""
    sub = data.get("sub")
    if not sub:
        raise LaunchRefused("The LMS sent an anonymous launch (no user id); gradelab needs "
                            "to know who is launching. Ask your LMS administrator.")
    row = db.session.scalar(select(LtiRegistration).where(
        LtiRegistration.issuer == data.get("iss"),
        LtiRegistration.client_id == (data.get("aud")[0] if isinstance(data.get("aud"), list)
                                      else data.get("aud"))))
    if row is None:
        raise LaunchRefused("This LMS is not registered with gradelab.")
    role = map_role(list(data.get(CLAIM + "roles") or []))
    identity = db.session.scalar(select(LtiIdentity).where(
        LtiIdentity.registration_id == row.id, LtiIdentity.sub == sub))
    if identity is None:
        user = User(username=_username(row, data), role=role,
                    name=str(data.get("name") or "")[:200],
                    email=str(data.get("email") or "")[:254])
        db.session.add(user)
        db.session.flush()
        db.session.add(LtiIdentity(registration_id=row.id, sub=sub, user_id=user.id))
    else:
        user = identity.user
        if role == "instructor" and user.role != "instructor":
            user.role = "instructor"  # promoted in the LMS; never demoted by a launch
    custom = data.get(CLAIM + "custom") or {}
    slug = custom.get("assignment") if isinstance(custom, dict) else None
    assignment = (db.session.scalar(select(Assignment).where(Assignment.slug == slug))
                  if slug else None)
    ags = data.get(AGS_CLAIM)
    if assignment is not None and isinstance(ags, dict) and role == "student":
        link = db.session.scalar(select(LtiGradeLink).where(
            LtiGradeLink.user_id == user.id, LtiGradeLink.assignment_id == assignment.id))
        if link is None:
            link = LtiGradeLink(user_id=user.id, assignment_id=assignment.id,
                                registration_id=row.id, sub=sub)
            db.session.add(link)
        link.registration_id, link.sub = row.id, sub
        link.lineitem_url = ags.get("lineitem")
        link.lineitems_url = ags.get("lineitems")
        link.scopes = list(ags.get("scope") or [])
        link.updated_at = utcnow()
    db.session.commit()
    return user, assignment


def counted_score(user: User, assignment: Assignment) -> tuple[float | None, float]:
    """Return ``(counted score or None, max score)`` as the gradebook shows them."""
    cell = build_gradebook([user], [assignment]).cell(user, assignment)
    return cell.score, cell.max_score


def send_score(link_id: int) -> str:
    """Post the counted score of grade link ``link_id`` to the platform's line item (AGS).

    Returns ``"sent"``, ``"unchanged"``, ``"no score"`` or ``"no link"``. Raises the
    platform's or the network's error after storing it on the link (the Celery task retries).
    """
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.grade import Grade
    from pylti1p3.service_connector import ServiceConnector

    link = db.session.get(LtiGradeLink, link_id)
    if link is None or not link.lineitem_url:
        return "no link"
    score, max_score = counted_score(link.user, link.assignment)
    if score is None:
        return "no score"
    if link.sent_score is not None and abs(link.sent_score - score) < 1e-9 and not link.last_error:
        return "unchanged"
    try:
        connector = ServiceConnector(_registration(link.registration))
        service = AssignmentsGradesService(connector, {
            "scope": link.scopes, "lineitem": link.lineitem_url,
            "lineitems": link.lineitems_url or link.lineitem_url})
        if SCORE_SCOPE not in link.scopes:
            raise LaunchRefused("the LMS did not grant the score scope for this assignment")
        grade = (Grade().set_score_given(round(score, 6)).set_score_maximum(max_score)
                 .set_timestamp(utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"))
                 .set_activity_progress("Completed").set_grading_progress("FullyGraded")
                 .set_user_id(link.sub))
        service.put_grade(grade)
    except Exception as exc:
        link.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        link.updated_at = utcnow()
        db.session.commit()
        raise
    link.sent_score, link.sent_at, link.last_error = score, utcnow(), None
    link.updated_at = link.sent_at
    db.session.commit()
    return "sent"


def schedule_passback(user_id: int, assignment_id: int) -> bool:
    """Send the passback job of (user, assignment) if it has a grade link; True when sent.

    Called after a grading run is stored and after an override; never raises (a broker
    failure is logged and stored on the link; the next change sends it again).
    """
    link_id = db.session.scalar(select(LtiGradeLink.id).where(
        LtiGradeLink.user_id == user_id, LtiGradeLink.assignment_id == assignment_id))
    if link_id is None:
        return False
    from grader.course.queue import celery

    try:
        celery().tasks[LTI_PASSBACK_TASK].apply_async(args=[link_id])
    except Exception as exc:  # noqa: BLE001 - the local grade stands; shown to instructors
        log.warning("LTI passback of link %s not sent: %s", link_id, exc)
        link = db.session.get(LtiGradeLink, link_id)
        link.last_error = f"passback not queued: {exc}"[:2000]
        db.session.commit()
        return False
    return True
