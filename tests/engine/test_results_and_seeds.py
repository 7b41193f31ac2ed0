"""Report data shapes (ours and Gradescope's) and the seeding scheme."""
from __future__ import annotations

import json

import pytest

from grader.engine.results import CheckRecord, Report, TestResult
from grader.engine.seeds import test_seed as seed_of


def sample_report() -> Report:
    tests = [
        TestResult("f: values", "f", 2.0, 2.0, "passed", "Passed.", "visible"),
        TestResult("f: hidden", "f", 0.5, 1.0, "failed", "f: 1 of 3 entries", "hidden",
                   records=[CheckRecord("f", "y", ("secret",), 1, 2, "m")]),
    ]
    return Report("demo", 2.5, 3.0, tests, grader_version="engine-1", student_id="s1",
                  duration_s=0.25)


def test_to_dict_has_every_field_and_no_trusted_records():
    d = sample_report().to_dict()
    assert set(d) == {"slug", "score", "max_score", "outcome", "error", "grader_version",
                      "student_id", "duration_s", "tests", "output", "phases"}
    assert set(d["tests"][1]) == {"name", "part", "score", "max_score", "status", "feedback",
                                  "visibility", "diagnosis", "duration_s", "staff_feedback"}
    assert "secret" not in json.dumps(d)


def test_to_gradescope_shape():
    g = sample_report().to_gradescope()
    assert (g["score"], g["extra_data"]["max_score"]) == (2.5, 3.0)
    assert "max_score" not in g  # not a documented top-level key of Gradescope's results.json
    assert g["tests"][1] == {"name": "f: hidden", "score": 0.5, "max_score": 1.0,
                             "output": "f: 1 of 3 entries", "visibility": "hidden",
                             "status": "failed", "extra_data": {"status": "failed", "part": "f"}}
    assert "output" not in g
    err = Report("demo", 0.0, 3.0, [], outcome="error", error="Syntax error on line 3")
    assert err.to_gradescope()["output"] == "Syntax error on line 3"
    assert "secret" not in json.dumps(g)


def test_to_gradescope_puts_diagnoses_of_visible_tests_only_into_output():
    diagnosis = [{"key": "transposed", "title": "Transposed",
                  "message": "Probably: your dW1 is the transpose of the correct gradient."},
                 {"key": "sign_flipped", "title": "Sign flipped",
                  "message": "Probably: your db1 is the correct gradient times -1."}]
    tests = [TestResult(f"g: {vis}", "g", 0.0, 2.0, "failed", "g: dW1 has shape (3, 2).", vis,
                        diagnosis=list(diagnosis))
             for vis in ("visible", "hidden", "after_due_date")]
    out = {t["visibility"]: t["output"] for t in Report("demo", 0.0, 6.0, tests).to_gradescope()["tests"]}
    assert out["visible"] == ("g: dW1 has shape (3, 2).\n"
                              "Probably: your dW1 is the transpose of the correct gradient.\n"
                              "Probably: your db1 is the correct gradient times -1.")
    assert out["hidden"] == out["after_due_date"] == "g: dW1 has shape (3, 2)."
    assert all(t.feedback == "g: dW1 has shape (3, 2)." for t in tests)  # not modified


def test_invalid_status_and_outcome_are_rejected():
    with pytest.raises(ValueError):
        TestResult("x", "f", 0, 1, "crashed", "")
    with pytest.raises(ValueError):
        Report("demo", 0, 1, [], outcome="maybe")


def test_public_seeds_are_reproducible_and_differ_per_test_and_student():
    a = seed_of("mlp_backprop", "check_forward_values", "alice", hidden=False)
    assert a == seed_of("mlp_backprop", "check_forward_values", "alice", hidden=False)
    assert a != seed_of("mlp_backprop", "check_forward_values", "bob", hidden=False)
    assert a != seed_of("mlp_backprop", "check_loss_values", "alice", hidden=False)
    assert a != seed_of("xor", "check_forward_values", "alice", hidden=False)


def test_hidden_seeds_depend_on_the_server_key():
    k1 = seed_of("m", "c", "alice", hidden=True, key=b"server-secret")
    assert k1 == seed_of("m", "c", "alice", hidden=True, key=b"server-secret")
    assert k1 != seed_of("m", "c", "alice", hidden=True, key=b"other-secret")
    assert k1 != seed_of("m", "c", "alice", hidden=False)
    with pytest.raises(ValueError):
        seed_of("m", "c", "alice", hidden=True)


@pytest.fixture
def no_env_key(monkeypatch, tmp_path):
    """No key in the environment; the repository's instance/ folder is an empty tmp folder."""
    from grader.engine import seeds
    for var in (seeds.ENV_KEY, seeds.ENV_KEY_FILE, seeds.ENV_INSTANCE):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(seeds, "REPO_ROOT", tmp_path / "repo")
    (tmp_path / "repo" / "instance").mkdir(parents=True)
    return seeds


def test_seed_key_falls_back_to_the_key_run_sh_keeps_in_instance(no_env_key, tmp_path, caplog):
    seeds = no_env_key
    (tmp_path / "repo" / "instance" / "seed_key").write_text("kept-by-run-sh\n")
    with caplog.at_level("WARNING", logger="grader.engine.seeds"):
        assert seeds.seed_key() == b"kept-by-run-sh"  # as $(cat instance/seed_key) exports it
    assert not caplog.records  # no "not set" warning


def test_seed_key_order_env_then_named_file_then_instance_path(no_env_key, tmp_path,
                                                               monkeypatch):
    seeds = no_env_key
    (tmp_path / "repo" / "instance" / "seed_key").write_text("repo-instance\n")
    moved = tmp_path / "moved-instance"
    moved.mkdir()
    (moved / "seed_key").write_text("moved-instance\n")
    monkeypatch.setenv(seeds.ENV_INSTANCE, str(moved))
    assert seeds.seed_key() == b"moved-instance"
    named = tmp_path / "named"
    named.write_text("named-file\n")
    monkeypatch.setenv(seeds.ENV_KEY_FILE, str(named))
    assert seeds.seed_key() == b"named-file"
    monkeypatch.setenv(seeds.ENV_KEY, "from-env")
    assert seeds.seed_key() == b"from-env"
    assert seeds.seed_key(b"explicit") == b"explicit"


def test_a_named_key_file_that_is_missing_fails_closed(no_env_key, tmp_path, monkeypatch):
    from grader.engine.errors import GraderInfrastructureError
    seeds = no_env_key
    monkeypatch.setenv(seeds.ENV_KEY_FILE, str(tmp_path / "nope"))
    with pytest.raises(GraderInfrastructureError, match="GRADELAB_SEED_KEY_FILE"):
        seeds.seed_key()


def test_without_any_kept_key_a_random_process_key_is_used(no_env_key, caplog, monkeypatch):
    seeds = no_env_key
    monkeypatch.setattr(seeds, "_process_key", None)
    with caplog.at_level("WARNING", logger="grader.engine.seeds"):
        key = seeds.seed_key()
    assert len(key) == 32 and seeds.seed_key() == key
    assert "GRADELAB_SEED_KEY is not set" in caplog.text
