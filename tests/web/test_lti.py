"""LTI 1.3 end to end (issue 16 §1) against the in-process platform of ``lti_platform``: OIDC
login, launch, account creation with role mapping, refusals, AGS grade passback over HTTP."""
from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from lti_platform import CLAIM, Platform

from grader.course import lti
from grader.course.db import db
from grader.course.models import Assignment, LtiGradeLink, LtiIdentity, LtiRegistration, User


@pytest.fixture
def platform(app):
    plat = Platform()
    plat.serve()
    app.config["LTI_CACHE_REDIS_URL"] = None
    with app.app_context():
        db.session.add(LtiRegistration(**plat.registration()))
        db.session.commit()
    yield plat
    plat.stop()


@pytest.fixture
def mlp(make_assignment):
    return make_assignment("mlp")


def oidc_login(client, plat: Platform) -> tuple[str, str]:
    """Run the login initiation; return the (state, nonce) the tool sent to the platform."""
    response = client.post("/lti/login", data={
        "iss": plat.issuer, "client_id": plat.client_id, "login_hint": "42",
        "target_link_uri": "http://localhost/lti/launch", "lti_message_hint": "m"})
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth"
    query = parse_qs(location.query)
    assert query["client_id"] == [plat.client_id] and query["response_type"] == ["id_token"]
    assert query["redirect_uri"] == ["http://localhost/lti/launch"]
    return query["state"][0], query["nonce"][0]


def launch(client, plat: Platform, **claims):
    state, nonce = oidc_login(client, plat)
    token = plat.id_token(plat.claims(nonce, **claims))
    return client.post("/lti/launch", data={"id_token": token, "state": state}), token, state


def test_launch_signs_a_student_in_and_opens_the_assignment(app, client, platform, mlp):
    response, _, _ = launch(client, platform)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/assignments/mlp")
    page = client.get("/assignments/mlp")
    assert page.status_code == 200
    with app.app_context():
        user = db.session.scalar(db.select(User).join(LtiIdentity)
                                 .where(LtiIdentity.sub == "lms-user-42"))
        assert user.role == "student" and user.username == "ada" and user.email == "ada@example.edu"
        link = db.session.scalar(db.select(LtiGradeLink).where(LtiGradeLink.user_id == user.id))
        assert link.lineitem_url.endswith("/lineitems/7/lineitem")
    # a second launch of the same LMS user (another browser) signs in the same account
    response, _, _ = launch(app.test_client(), platform)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.query(LtiIdentity).count() == 1


def test_instructor_role_is_mapped(app, client, platform, mlp):
    roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
    response, _, _ = launch(client, platform, sub="prof-1", roles=roles, email="prof@example.edu")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "prof"))
        assert user.role == "instructor"
        assert db.session.query(LtiGradeLink).count() == 0  # no grade passback for staff
    assert client.get("/instructor/lti").status_code == 200


def _tamper(token: str, **changes) -> str:
    head, payload, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{raw}.{sig}"


def test_tampered_token_is_refused(app, client, platform, mlp):
    state, nonce = oidc_login(client, platform)
    token = _tamper(platform.id_token(platform.claims(nonce)),
                    **{CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]})
    response = client.post("/lti/launch", data={"id_token": token, "state": state})
    assert response.status_code == 400
    assert "launch from your LMS was refused" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_token_signed_by_another_key_is_refused(app, client, platform, mlp):
    state, nonce = oidc_login(client, platform)
    forger = Platform()
    token = forger.id_token(platform.claims(nonce))
    response = client.post("/lti/launch", data={"id_token": token, "state": state})
    assert response.status_code == 400
    assert "refused" in response.get_data(as_text=True)


def test_wrong_audience_is_refused(app, client, platform, mlp):
    state, nonce = oidc_login(client, platform)
    token = platform.id_token(platform.claims(nonce, aud="someone-else"))
    response = client.post("/lti/launch", data={"id_token": token, "state": state})
    assert response.status_code == 400
    assert "refused" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_expired_token_is_refused(app, client, platform, mlp):
    state, nonce = oidc_login(client, platform)
    claims = platform.claims(nonce)
    claims["iat"], claims["exp"] = claims["iat"] - 7200, claims["iat"] - 3600
    response = client.post("/lti/launch", data={"id_token": platform.id_token(claims),
                                                 "state": state})
    assert response.status_code == 400
    assert "refused" in response.get_data(as_text=True)


def test_replayed_launch_is_refused(app, client, platform, mlp):
    response, token, state = launch(client, platform)
    assert response.status_code == 302
    replay = client.post("/lti/launch", data={"id_token": token, "state": state})
    assert replay.status_code == 400
    body = replay.get_data(as_text=True)
    assert "refused" in body and ("replayed nonce" in body or "State" in body)


def test_unknown_deployment_and_state_are_refused(app, client, platform, mlp):
    state, nonce = oidc_login(client, platform)
    claims = platform.claims(nonce, **{CLAIM + "deployment_id": "not-registered"})
    response = client.post("/lti/launch", data={"id_token": platform.id_token(claims),
                                                 "state": state})
    assert response.status_code == 400
    response = client.post("/lti/launch", data={"id_token": platform.id_token(claims),
                                                 "state": "made-up-state"})
    assert response.status_code == 400


def test_jwks_serves_the_kept_tool_key(app, client):
    keys = client.get("/lti/jwks.json").get_json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["kid"]
    path = Path(app.instance_path) / "lti_private_key.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert client.get("/lti/jwks.json").get_json()["keys"] == keys  # kept, not remade


def test_grade_passback_sends_the_counted_score_and_records_failures(
        app, client, platform, mlp, make_submission, make_user, login):
    response, _, _ = launch(client, platform)
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "ada"))
        link_id = db.session.scalar(db.select(LtiGradeLink.id))
        uid = user.id
    make_submission(uid, mlp, scores=(6.0, 2.0))
    with app.app_context():
        assert lti.send_score(link_id) == "sent"
        link = db.session.get(LtiGradeLink, link_id)
        expected, max_score = lti.counted_score(link.user, link.assignment)
        assert link.sent_score == expected and link.last_error is None
    score = platform.scores[-1]
    assert score["scoreGiven"] == expected and score["scoreMaximum"] == max_score
    assert score["userId"] == "lms-user-42" and score["gradingProgress"] == "FullyGraded"
    assertion = platform.token_requests[-1]["client_assertion"]
    tool_key = jwt.PyJWK(client.get("/lti/jwks.json").get_json()["keys"][0])
    claims = jwt.decode(assertion, tool_key.key, algorithms=["RS256"],
                        audience=f"{platform.base}/token")
    assert claims["iss"] == platform.client_id  # the tool signs its token request
    with app.app_context():
        assert lti.send_score(link_id) == "unchanged"

    platform.fail_scores = True
    make_submission(uid, mlp, scores=(8.0, 2.0))  # a better attempt: the counted score changes
    with app.app_context():
        with pytest.raises(Exception):
            lti.send_score(link_id)
        link = db.session.get(LtiGradeLink, link_id)
        assert "503" in (link.last_error or "") or link.last_error
        assert lti.counted_score(link.user, link.assignment)[0] > expected  # local grade kept
    make_user("prof", role="instructor")
    staff = app.test_client()
    login("prof", c=staff)
    page = staff.get("/instructor/lti").get_data(as_text=True)
    assert "failed" in page and "the grade in gradelab is unaffected" in page

    platform.fail_scores = False
    with app.app_context():
        assert lti.send_score(link_id) == "sent"
        assert db.session.get(LtiGradeLink, link_id).last_error is None


def test_override_schedules_passback_through_celery(app, client, platform, mlp, make_submission):
    from grader.course import grade_changes

    launch(client, platform)
    app.config["CELERY_TASK_ALWAYS_EAGER"] = True
    app.extensions.pop("celery", None)
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "ada"))
        prof = User(username="prof", role="instructor")
        db.session.add(prof)
        db.session.commit()
        assignment = db.session.get(Assignment, mlp)
        grade_changes.override_score(prof, user, assignment, 5.0, "regrade request")
        assert platform.scores[-1]["scoreGiven"] == 5.0


def test_registration_page_is_for_instructors(app, client, login, make_user):
    make_user("prof", role="instructor")
    make_user("stu")
    login("stu")
    assert client.get("/instructor/lti").status_code in (403, 404)
    client = app.test_client()
    login("prof", c=client)
    page = client.get("/instructor/lti").get_data(as_text=True)
    assert "/lti/login" in page and "/lti/jwks.json" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "name": "Canvas", "issuer": "https://canvas.instructure.com",
            "client_id": "10000000000001", "deployment_ids": "1:abc, 2:def",
            "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
            "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
            "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks"}
    assert client.post("/instructor/lti", data=form).status_code == 302
    with app.app_context():
        row = db.session.scalar(db.select(LtiRegistration))
        assert row.deployment_ids == ["1:abc", "2:def"] and row.created_by_id is not None
    bad = dict(form, client_id="x", auth_login_url="not a url")
    response = client.post("/instructor/lti", data=bad)
    assert response.status_code == 400 and "Invalid URL" in response.get_data(as_text=True)
