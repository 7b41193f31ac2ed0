"""LTI 1.3 endpoints (issue 16 §1): OIDC login initiation, resource-link launch, the tool's JWKS,
and the instructors' page that registers platforms (see :mod:`grader.course.lti`, docs/lms.md).

The login and launch requests come from the LMS (cross-site POSTs without gradelab's CSRF
token); they are authenticated by the platform's signed id_token instead, so they are exempt
from the CSRF check.
"""
from __future__ import annotations

import logging

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import URL, DataRequired, Length, Optional

from grader.course import lti
from grader.course.db import db
from grader.course.models import LtiGradeLink, LtiRegistration
from grader.web.auth import instructor_required
from grader.web.extensions import csrf
from grader.web.forms import FlaskForm

log = logging.getLogger(__name__)
bp = Blueprint("lti", __name__)


class RegistrationForm(FlaskForm):
    """A platform's LTI 1.3 registration, as the LMS's developer-key page shows it."""

    name = StringField("Name (e.g. Canvas, Moodle)", validators=[Length(max=200)])
    issuer = StringField("Issuer (iss)", validators=[DataRequired(), Length(max=500)])
    client_id = StringField("Client ID", validators=[DataRequired(), Length(max=500)])
    deployment_ids = StringField("Deployment ID(s), comma-separated",
                                 validators=[DataRequired(), Length(max=2000)])
    auth_login_url = StringField("Authorization (OIDC auth) URL",
                                 validators=[DataRequired(), URL(require_tld=False)])
    auth_token_url = StringField("Access token URL", validators=[DataRequired(), URL(require_tld=False)])
    key_set_url = StringField("Public key set (JWKS) URL",
                              validators=[Optional(), URL(require_tld=False)])


def _refused(message: str, status: int = 400):
    return render_template("lti/error.html", message=message), status


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt
def login():
    """OIDC login initiation: redirect the browser to the platform's authorization URL."""
    from pylti1p3.contrib.flask import FlaskOIDCLogin, FlaskRequest
    from pylti1p3.contrib.flask.launch_data_storage.cache import FlaskCacheDataStorage
    from pylti1p3.exception import LtiException, OIDCException

    target = request.values.get("target_link_uri") or url_for("lti.launch", _external=True)
    try:
        oidc = FlaskOIDCLogin(FlaskRequest(), lti.make_tool_conf(),
                              launch_data_storage=FlaskCacheDataStorage(lti.launch_cache()))
        return oidc.redirect(target)
    except (OIDCException, LtiException) as exc:
        log.warning("LTI login refused: %s", exc)
        return _refused(f"The login from your LMS was refused: {exc}.")


@bp.route("/lti/launch", methods=["POST"])
@csrf.exempt
def launch():
    """Resource-link launch: validate the id_token, sign the user in, open the assignment."""
    from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskRequest
    from pylti1p3.contrib.flask.launch_data_storage.cache import FlaskCacheDataStorage
    from pylti1p3.exception import LtiException

    cache = lti.launch_cache()
    try:
        message = FlaskMessageLaunch(FlaskRequest(), lti.make_tool_conf(),
                                     launch_data_storage=FlaskCacheDataStorage(cache))
        data = message.get_launch_data()
        if not message.is_resource_launch():
            return _refused("gradelab only handles resource-link launches (open an assignment "
                            "link in your course).")
    except LtiException as exc:
        log.warning("LTI launch refused: %s", exc)
        return _refused(f"The launch from your LMS was refused: {exc}. Open gradelab again "
                        "from your course; if this keeps happening, tell your instructor.")
    except Exception as exc:  # noqa: BLE001 - malformed tokens raise assorted decoding errors
        log.warning("LTI launch refused (malformed): %s: %s", type(exc).__name__, exc)
        return _refused("The launch from your LMS was refused: its token could not be read "
                        f"({type(exc).__name__}).")
    nonce = str(data.get("nonce") or "")
    if not nonce or not cache.add(f"used-nonce:{data.get('iss')}:{nonce}", 1, timeout=3600):
        return _refused("The launch from your LMS was refused: this launch was already used "
                        "(replayed nonce). Open gradelab again from your course.")
    try:
        user, assignment = lti.sign_in(data)
    except lti.LaunchRefused as exc:
        return _refused(str(exc), 403)
    login_user(user)
    log.info("LTI launch: %s signed in (%s)", user.username, user.role)
    if assignment is not None:
        return redirect(url_for("student.assignment", slug=assignment.slug))
    return redirect(url_for("student.index"))


@bp.route("/lti/jwks.json")
def jwks():
    """The tool's public key set (JWKS), for the platform to check the tool's signed requests."""
    return jsonify({"keys": [lti.tool_public_jwk()]})


@bp.route("/instructor/lti", methods=["GET", "POST"])
@instructor_required
def registrations():
    """Register an LMS (issuer, client id, deployment ids, URLs) and see grade-sync status."""
    form = RegistrationForm()
    if form.validate_on_submit():
        deployments = [d.strip() for d in form.deployment_ids.data.split(",") if d.strip()]
        exists = db.session.scalar(select(LtiRegistration.id).where(
            LtiRegistration.issuer == form.issuer.data.strip(),
            LtiRegistration.client_id == form.client_id.data.strip()))
        if exists:
            flash("This issuer and client ID are already registered.", "error")
        else:
            db.session.add(LtiRegistration(
                name=form.name.data.strip(), issuer=form.issuer.data.strip(),
                client_id=form.client_id.data.strip(), deployment_ids=deployments,
                auth_login_url=form.auth_login_url.data.strip(),
                auth_token_url=form.auth_token_url.data.strip(),
                key_set_url=(form.key_set_url.data or "").strip() or None,
                created_by_id=current_user.id))
            db.session.commit()
            flash(f"Registered {form.issuer.data.strip()} ({form.client_id.data.strip()}).", "info")
            return redirect(url_for("lti.registrations"))
    rows = db.session.scalars(select(LtiRegistration).order_by(LtiRegistration.id)).all()
    links = db.session.scalars(select(LtiGradeLink).order_by(LtiGradeLink.updated_at.desc())
                               .limit(200)).all()
    return (render_template("lti/registrations.html", form=form, rows=rows, links=links),
            400 if form.errors else 200)
