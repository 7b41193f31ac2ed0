"""JSON API: bearer tokens, submissions, gradebook CSV, JSON errors and the OpenAPI document."""
from __future__ import annotations

import io

import pytest

from grader.web.auth import issue_token
from grader.course.db import db
from grader.course.models import Submission, User

GOOD = b"def forward(x):\n    return x\n"


@pytest.fixture
def tokens(app, make_user, make_assignment):
    """API tokens of a student 'ada', a student 'bob' and an instructor 'prof'."""
    ids = {name: make_user(name, role=role)
           for name, role in [("ada", "student"), ("bob", "student"), ("prof", "instructor")]}
    make_assignment("mlp", max_attempts=2)
    with app.app_context():
        return {name: issue_token(db.session.get(User, uid)) for name, uid in ids.items()}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_file(client, token, data=GOOD, filename="solution.py", slug="mlp"):
    return client.post("/api/submissions", headers=auth(token), content_type="multipart/form-data",
                       data={"assignment": slug, "file": (io.BytesIO(data), filename)})


def test_missing_or_wrong_token_gives_json_401(client, tokens):
    for headers in ({}, {"Authorization": "Bearer glab_wrong"}, {"Authorization": "Basic eA=="}):
        response = client.get("/api/assignments", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "Unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_list_assignments(client, tokens):
    data = client.get("/api/assignments", headers=auth(tokens["ada"])).get_json()
    assert [a["slug"] for a in data["assignments"]] == ["mlp"]
    assert data["assignments"][0]["max_attempts"] == 2


def test_post_submission_returns_202_with_id_and_url(app, client, tokens):
    response = post_file(client, tokens["ada"])
    assert response.status_code == 202
    body = response.get_json()
    assert body["url"].endswith(f"/api/submissions/{body['id']}")
    assert response.headers["Location"] == body["url"]
    assert body["status"] == "queued" and body["attempt"] == 1
    got = client.get(f"/api/submissions/{body['id']}", headers=auth(tokens["ada"])).get_json()
    assert got["status"] == "queued" and got["student"] == "ada" and got["final"] is False
    with app.app_context():
        assert db.session.get(Submission, body["id"]).source == GOOD


def test_post_submission_refusals_are_json(app, client, tokens):
    cases = [
        (post_file(client, tokens["ada"], filename="a.zip"), 400, "is not a Python file"),
        (post_file(client, tokens["ada"], data=b"\xff\xfe\x00"), 400, "is not UTF-8"),
        (post_file(client, tokens["ada"], slug="nope"), 404, "No open assignment"),
        (client.post("/api/submissions", headers=auth(tokens["ada"]), data={"assignment": "mlp"}),
         400, "Missing file field"),
        (client.post("/api/submissions", headers=auth(tokens["ada"]), data={}), 400,
         "Missing form field"),
    ]
    for response, status, message in cases:
        assert response.status_code == status
        assert message in response.get_json()["message"]
    with app.app_context():
        assert db.session.query(Submission).count() == 0


def test_attempt_limit_through_the_api(client, tokens):
    assert [post_file(client, tokens["ada"]).status_code for _ in range(2)] == [202, 202]
    refused = post_file(client, tokens["ada"])
    assert refused.status_code == 403
    assert "used all 2 attempts" in refused.get_json()["message"]


def test_rate_limit_through_the_api_sets_retry_after(client, app, make_user, make_assignment):
    uid = make_user("cy")
    make_assignment("fast", rate_limit_max=1, rate_limit_window_s=60)
    with app.app_context():
        token = issue_token(db.session.get(User, uid))
    assert post_file(client, token, slug="fast").status_code == 202
    refused = post_file(client, token, slug="fast")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["retry_after_s"] == int(refused.headers["Retry-After"])


def test_other_students_submission_is_404_for_a_student_but_visible_to_instructor(client, tokens):
    sub = post_file(client, tokens["ada"]).get_json()["id"]
    assert client.get(f"/api/submissions/{sub}", headers=auth(tokens["bob"])).status_code == 404
    assert client.get(f"/api/submissions/{sub}", headers=auth(tokens["prof"])).status_code == 200


def test_gradebook_csv_is_for_instructors_only(client, tokens):
    assert client.get("/api/gradebook.csv", headers=auth(tokens["ada"])).status_code == 404
    response = client.get("/api/gradebook.csv", headers=auth(tokens["prof"]))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data(as_text=True).splitlines()[0].startswith("username,name,email,mlp")


def test_unknown_api_url_is_a_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.is_json


def test_openapi_document_lists_every_endpoint(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/api/assignments", "/api/submissions",
                                 "/api/submissions/{id}", "/api/gradebook.csv"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_a_new_token_replaces_the_old_one(app, client, tokens):
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(username="ada"))
        new = issue_token(user)
    assert client.get("/api/assignments", headers=auth(tokens["ada"])).status_code == 401
    assert client.get("/api/assignments", headers=auth(new)).status_code == 200
