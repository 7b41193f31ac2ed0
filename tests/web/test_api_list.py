"""GET /api/submissions (issue 14): students list their own, staff the course's (a TA their
sections), a page at a time with totals and next/prev links; described in the OpenAPI document."""
from __future__ import annotations

import pytest

from grader.course.db import db
from grader.course.models import User
from grader.web.auth import issue_token


@pytest.fixture
def course(app, make_user, make_assignment, make_submission):
    ids = {"ada": make_user("ada", section="A"), "bob": make_user("bob", section="B"),
           "tim": make_user("tim", role="ta", ta_sections=["A"]),
           "prof": make_user("prof", role="instructor")}
    mlp, xor = make_assignment("mlp"), make_assignment("xor")
    subs = {"ada": [make_submission(ids["ada"], mlp, scores=(6.0, 4.0)) for _ in range(5)]
            + [make_submission(ids["ada"], xor, scores=(1.0, 0.0))],
            "bob": [make_submission(ids["bob"], mlp, scores=(6.0, 0.0)) for _ in range(2)]}
    with app.app_context():
        tokens = {n: issue_token(db.session.get(User, i)) for n, i in ids.items()}
    return {"tokens": tokens, "subs": subs}


def get(client, course, who, query=""):
    return client.get(f"/api/submissions{query}",
                      headers={"Authorization": f"Bearer {course['tokens'][who]}"})


def test_a_student_lists_only_their_own_submissions_page_by_page(client, course):
    first = get(client, course, "ada", "?per_page=4")
    body = first.get_json()
    assert first.status_code == 200
    assert (body["total"], body["pages"], body["page"], body["prev"]) == (6, 2, 1, None)
    assert [s["id"] for s in body["submissions"]] == sorted(course["subs"]["ada"], reverse=True)[:4]
    assert {s["student"] for s in body["submissions"]} == {"ada"}
    assert 'rel="next"' in first.headers["Link"]
    second = client.get(body["next"], headers={"Authorization": f"Bearer {course['tokens']['ada']}"})
    rest = second.get_json()
    assert [s["id"] for s in rest["submissions"]] == sorted(course["subs"]["ada"], reverse=True)[4:]
    assert rest["next"] is None and rest["prev"].endswith("page=1&per_page=4")
    # a student cannot look at another student through the filter
    assert get(client, course, "ada", "?student=bob").get_json()["total"] == 6


@pytest.mark.parametrize(("who", "query", "expected"), [
    ("prof", "", {"ada": 6, "bob": 2}), ("tim", "", {"ada": 6}),
    ("prof", "?student=bob", {"bob": 2}), ("tim", "?student=bob", {}),
    ("prof", "?assignment=xor", {"ada": 1}), ("prof", "?status=queued", {}),
    ("bob", "", {"bob": 2}),
])
def test_staff_list_the_course_a_ta_their_sections(client, course, who, query, expected):
    body = get(client, course, who, query + ("&" if query else "?") + "per_page=100").get_json()
    counts: dict[str, int] = {}
    for s in body["submissions"]:
        counts[s["student"]] = counts.get(s["student"], 0) + 1
    assert counts == expected and body["total"] == sum(expected.values())


@pytest.mark.parametrize("query", ["?page=0", "?per_page=101", "?per_page=x", "?status=lost"])
def test_bad_paging_arguments_are_a_json_400(client, course, query):
    response = get(client, course, "prof", query)
    assert response.status_code == 400 and response.is_json


def test_the_list_needs_a_token_and_is_in_the_openapi_document(client, course):
    assert client.get("/api/submissions").status_code == 401
    doc = client.get("/api/openapi.json").get_json()
    operation = doc["paths"]["/api/submissions"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"page", "per_page", "assignment",
                                                             "status", "student"}
    schema = doc["components"]["schemas"]["SubmissionPage"]
    body = get(client, course, "prof").get_json()
    assert set(schema["required"]) <= set(body)
    assert set(body["submissions"][0]) <= set(doc["components"]["schemas"]["Submission"]["properties"]) | {
        "filename", "sha256", "size_bytes", "created_at", "queued_at", "started_at", "finished_at"}
