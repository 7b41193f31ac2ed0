"""Login, logout, session cookie flags, login rate limit, CSRF and API tokens."""
from __future__ import annotations

import uuid

import redis
from web_helpers import PASSWORD, csrf_from

from grader import create_app
from grader.course.db import db
from grader.course.models import User, hash_token


def test_login_page_renders_form_with_csrf(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert "csrf_token" in page.get_data(as_text=True)


def test_pages_redirect_anonymous_users_to_login(client):
    for url in ("/", "/assignments/mlp", "/submissions/1", "/instructor/", "/settings"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_login_sets_httponly_samesite_cookie_and_logout_ends_session(client, make_user, login):
    make_user("ada")
    response = login("ada")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(client, make_user, login):
    make_user("ada")
    response = login("ada", "not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client, make_user):
    make_user("ada")
    response = client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)


def test_logout_without_csrf_token_keeps_the_session(client, make_user, login):
    make_user("ada")
    login("ada")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_login_attempts_are_rate_limited(client, make_user, login):
    make_user("ada")
    codes = [login("ada", "wrong").status_code for _ in range(5)]
    assert codes == [401] * 5
    blocked = login("ada")  # even the right password, once the limit (5/minute) is hit
    assert blocked.status_code == 429
    assert client.get("/").status_code == 302


def test_one_usernames_failures_do_not_lock_out_others_at_the_same_address(app, make_user, login):
    make_user("ada")
    make_user("prof", role="instructor")
    student, instructor = app.test_client(), app.test_client()  # same address (127.0.0.1)
    codes = [login("ada", "typo", c=student).status_code for _ in range(7)]
    assert codes == [401] * 5 + [429] * 2  # the guessed username is limited (5/minute here)
    assert login("prof", "typo", c=instructor).status_code == 401  # not 429
    assert login("prof", c=instructor).status_code == 302
    other_address = app.test_client()
    other_address.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert login("ada", c=other_address).status_code == 302


def test_failed_logins_from_one_address_are_limited_whatever_the_username(app, make_user, login):
    app.config["LOGIN_ADDRESS_RATE_LIMIT"] = "4 per minute"
    for name in ("u1", "u2", "u3", "u4", "u5", "u6"):
        make_user(name)
    # Successful logins do not count against the address (a class behind one NAT) ...
    for name in ("u1", "u2", "u3", "u4", "u5"):
        assert login(name, c=app.test_client()).status_code == 302
    # ... failures do, across usernames (spraying).
    codes = [login(f"guess{i}", "x", c=app.test_client()).status_code for i in range(4)]
    assert codes == [401] * 4
    assert login("u6", c=app.test_client()).status_code == 429


def test_login_limit_is_kept_in_redis_when_redis_url_is_set(monkeypatch, tmp_path):
    url = "redis://127.0.0.1:6379/1"
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.delenv("GRADELAB_RATELIMIT_STORAGE_URI", raising=False)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'web.sqlite3'}"})
    assert app.config["RATELIMIT_STORAGE_URI"] == url
    with app.app_context():
        db.create_all()
    name = f"nobody-{uuid.uuid4().hex}"
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": name, "password": "x", "csrf_token": token})
    assert response.status_code == 401
    store = redis.Redis.from_url(url)
    try:
        keys = list(store.scan_iter(match=f"*{name}*"))
        assert keys, "the per-username login counter is not in Redis"
        store.delete(*keys)
    finally:
        store.close()
        with app.app_context():
            db.engine.dispose()


def test_next_parameter_only_redirects_within_the_site(client, make_user):
    make_user("ada")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    form = {"username": "ada", "password": PASSWORD, "csrf_token": token}
    evil = client.post("/login?next=https://evil.example/", data=form)
    assert evil.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    token = csrf_from(client.get("/login").get_data(as_text=True))
    good = client.post("/login?next=/settings", data=form | {"csrf_token": token})
    assert good.headers["Location"] == "/settings"


def test_settings_issues_a_token_stored_only_as_hash(app, client, make_user, login):
    uid = make_user("ada")
    login("ada")
    page = client.get("/settings")
    response = client.post("/settings", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    html = response.get_data(as_text=True)
    token = html.split('<pre class="token" id="token">')[1].split("</pre>")[0]
    assert token.startswith("glab_")
    with app.app_context():
        user = db.session.get(User, uid)
        assert user.api_token_hash == hash_token(token)
        assert token not in (user.api_token_hash or "")
    api = client.get("/api/assignments", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
