"""Hostile submissions graded through ``grade_source`` with the real bubblewrap sandbox.

Each test grades one file from ``tests/sandbox/hostile/`` against a copy of ``chain_rule`` with
tight limits, checks the verdict and that the score is what an honest grader gives, then grades
the reference solution with the same launcher (full marks expected). The ``host_guard`` fixture
checks afterwards that nothing outside the sandbox changed.
"""
from __future__ import annotations

import ast
import os
import re
import socket
from pathlib import Path

import pytest

import grader.diagnosis
from grader.engine import grade_source
from grader.engine.results import Report
from grader.sandbox.command import CHILD_ENV

from .conftest import REPO, hostile_source

pytestmark = pytest.mark.usefixtures("host_guard")

SLUG = "chain_rule"


def grade(launcher, source: str) -> Report:
    """Grade ``source`` as chain_rule with ``launcher`` and check the honest follow-up."""
    report = grade_source(SLUG, source, diagnoser=grader.diagnosis, launcher=launcher,
                          student_id="mallory")
    honest = grade_source(SLUG, (REPO / "reference_solutions" / f"{SLUG}.py").read_text(),
                          diagnoser=grader.diagnosis, launcher=launcher, student_id="alice")
    assert honest.outcome == "graded"
    assert honest.score == honest.max_score, [t.feedback for t in honest.tests if t.score < t.max_score]
    return report


def feedback(report: Report, part: str) -> str:
    """All feedback of the tests about ``part``, joined."""
    texts = [t.feedback for t in report.tests if t.part == part]
    assert texts, f"no test about {part}"
    return "\n".join(texts)


def statuses(report: Report, part: str) -> set[str]:
    return {t.status for t in report.tests if t.part == part}


def assert_import_failed(report: Report, *words: str) -> None:
    assert report.outcome == "error"
    assert report.score == 0.0
    assert all(t.score == 0.0 for t in report.tests)
    for word in words:
        assert word.lower() in (report.error or "").lower(), report.error


@pytest.mark.slow
def test_fork_bomb(launcher):
    report = grade(launcher, hostile_source("fork_bomb.py"))
    assert_import_failed(report, "time limit")


@pytest.mark.slow
def test_thread_bomb(launcher):
    report = grade(launcher, hostile_source("thread_bomb.py"))
    assert_import_failed(report)
    assert "time limit" in report.error.lower() or "thread" in report.error.lower(), report.error


def test_memory_bomb(launcher):
    report = grade(launcher, hostile_source("memory_bomb.py"))
    assert report.score == 0.0
    text = feedback(report, "logistic_ls_loss")
    assert "memory limit (256 MiB)" in text or "ran out of memory (limit 256 MiB)" in text, text
    assert statuses(report, "logistic_ls_loss") <= {"error", "failed"}


@pytest.mark.slow
def test_infinite_loops(launcher):
    report = grade(launcher, hostile_source("infinite_loop.py"))
    assert report.score == 0.0
    for part in ("logistic_ls_loss", "multivariate_dfdt"):
        assert statuses(report, part) == {"timeout"}, feedback(report, part)
        assert "time" in feedback(report, part).lower()


@pytest.mark.slow
def test_busy_loop_ignoring_signals(launcher):
    report = grade(launcher, hostile_source("ignore_signals.py"))
    assert_import_failed(report, "time limit")


@pytest.mark.slow
def test_sleep_pause_and_sigstop(launcher):
    report = grade(launcher, hostile_source("sleep_pause_stop.py"))
    assert report.score == 0.0
    assert statuses(report, "logistic_ls_loss") == {"timeout"}, feedback(report, "logistic_ls_loss")
    # The child is its PID namespace's init, so a SIGSTOP it sends itself is ignored and the
    # function returns None (a failed test); once the wall budget is spent, tests time out.
    for part in ("logistic_ls_grad", "multivariate_dfdt"):
        assert statuses(report, part) <= {"timeout", "failed"}, feedback(report, part)
    assert report.duration_s < 8.0 + 5.0  # the whole-submission wall clock held


def test_huge_stdout(launcher):
    report = grade(launcher, hostile_source("huge_stdout.py"))
    assert_import_failed(report, "output too large")


def test_huge_file(launcher):
    before = {p: os.path.exists(p) for p in ("/huge.bin", "/dev/shm/huge.bin", "huge2.bin")}
    report = grade(launcher, hostile_source("huge_file.py"))
    assert report.score == 0.0
    text = feedback(report, "logistic_ls_loss")
    assert "File too large" in text or "No space left" in text or "Read-only" in text, text
    assert {p: os.path.exists(p) for p in before} == before


def test_reading_secrets(launcher, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://grader:hunter2@db/gradelab")
    monkeypatch.setenv("SECRET_KEY", "hunter2")
    report = grade(launcher, hostile_source("read_secrets.py"))
    assert report.score == 0.0
    text = feedback(report, "logistic_ls_loss")
    assert "SECRETS=[]" in text, text
    suspects = ast.literal_eval(re.search(r"SUSPECTS=(\[.*?\])", text).group(1))
    allowed = tuple(b + "/" for b in launcher.runtime.binds)
    assert [p for p in suspects if not p.startswith(allowed)] == []
    top = ast.literal_eval(re.search(r"TOP=(\[.*?\])", text).group(1))
    assert set(top) <= {"usr", "lib", "lib64", "bin", "sbin", "opt", "proc", "dev", "tmp",
                        "grader", "submission"}, top
    env_text = feedback(report, "logistic_ls_grad")
    # bwrap adds PWD (the working directory, /tmp); nothing else from the host gets in.
    assert f"ENV={sorted([*CHILD_ENV, 'PWD'])!r}" in env_text, env_text
    assert "GRADER=absent" in env_text
    for secret in ("DATABASE_URL", "SECRET_KEY", "GRADELAB_SEED_KEY", "hunter2"):
        assert secret not in env_text


def test_canary_hunt(launcher, host_guard):
    report = grade(launcher, hostile_source("canary_hunter.py"))
    assert report.score == 0.0
    text = feedback(report, "logistic_ls_loss")
    assert "TOUCHED=[]" in text, text


def test_network_to_localhost(launcher):
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(1)
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))
        report = grade(launcher, hostile_source("network.py", **{"PORT = 0": f"PORT = {port}"}))
        tcp.settimeout(0.2)
        with pytest.raises(TimeoutError):
            tcp.accept()
        udp.settimeout(0.2)
        with pytest.raises(TimeoutError):
            udp.recvfrom(100)
    text = feedback(report, "logistic_ls_loss")
    assert "NET=" in text, text
    # A UDP send "succeeds" into the sandbox's own empty loopback; the host got nothing (above).
    for success in ("tcp:connected", "dns:resolved"):
        assert success not in text
    assert report.score == 0.0


def test_fake_score_and_results_files(launcher, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = {p: os.path.exists(p) for p in ("/tmp/results.json", "/results.json",
                                               "/autograder/results/results.json")}
    report = grade(launcher, hostile_source("fake_score.py"))
    assert report.outcome == "graded"
    assert report.score == 0.0
    assert report.to_gradescope()["score"] == 0.0
    assert not (tmp_path / "results.json").exists()
    assert {p: os.path.exists(p) for p in before} == before


def test_monkeypatching(launcher):
    report = grade(launcher, hostile_source("monkeypatch_everything.py"))
    assert report.score == 0.0
    assert not any(t.status == "passed" for t in report.tests)


@pytest.mark.parametrize("leave", ["sys.exit(0)", "os._exit(0)", "raise KeyboardInterrupt",
                                   "raise SystemExit(0)", "raise BaseException('bye')"])
def test_leaving_at_import(launcher, leave):
    report = grade(launcher, hostile_source("exit_at_import.py", SYSEXIT=leave))
    assert report.outcome == "error"
    assert report.score == 0.0


def test_base_exceptions_in_functions(launcher):
    report = grade(launcher, hostile_source("base_exceptions.py"))
    assert report.outcome == "graded"
    assert report.score == 0.0
    assert not any(t.status == "passed" for t in report.tests)
    assert "KeyboardInterrupt" in feedback(report, "logistic_ls_grad")


def test_tricky_return_values(launcher):
    report = grade(launcher, hostile_source("tricky_returns.py"))
    assert report.outcome == "graded"
    assert report.score == 0.0
    assert all(len(t.feedback) < 20_000 for t in report.tests)  # the huge __repr__ was capped


@pytest.mark.slow
def test_leftover_threads_and_daemons(launcher):
    report = grade(launcher, hostile_source("leftover_processes.py"))
    assert report.outcome == "graded"
    assert report.score == report.max_score, [t.feedback for t in report.tests if t.score < t.max_score]


def test_symlinks_out_of_the_box(launcher):
    report = grade(launcher, hostile_source("symlink_escape.py"))
    assert report.score == report.max_score, feedback(report, "logistic_ls_grad")


def test_ctypes(launcher):
    report = grade(launcher, hostile_source("ctypes_calls.py"))
    assert report.score == 0.0
    text = feedback(report, "logistic_ls_loss")
    assert "CTYPES=" in text, text
    for call in ("setuid", "setgid", "unshare", "mount", "ptrace", "reboot", "sethostname",
                 "chroot"):
        assert f"{call}:ok" not in text, text
    assert "SIGSEGV" in feedback(report, "multivariate_dfdt")


@pytest.mark.slow
def test_stopping_itself_at_import(launcher):
    report = grade(launcher, hostile_source("stop_self.py"))
    assert_import_failed(report, "time limit")
