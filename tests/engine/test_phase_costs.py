"""Where a grading's CPU goes (issue 15 section 1): the costs bench/cost.py reports are real.

Figures live in bench/cost.py's output, never in assertions; these tests check what is counted.
"""
from __future__ import annotations

import threadpoolctl
from engine_toy import GOOD

from grader.engine.threads import limit_blas_threads


def test_trusted_side_blas_runs_one_thread_after_a_grading(grade_toy):
    # OpenBLAS's idle threads busy-wait: ~0.85 s CPU per mlp_backprop grading on the bench
    # machine (grader/engine/threads.py). After any grading, every BLAS of this process has 1.
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert blas, "numpy's BLAS is loaded"
        assert all(i["num_threads"] == 2 for i in blas)
        import grader.engine.threads as threads

        threads._limited_in = None  # as in a fresh worker process
        report = grade_toy(GOOD)
        assert report.max_score > 0
        assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info()
                   if i["user_api"] == "blas")


def test_limit_is_applied_once_per_process(monkeypatch):
    import grader.engine.threads as threads

    calls = []
    monkeypatch.setattr(threads, "_limited_in", None)
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", lambda **kw: calls.append(kw))
    limit_blas_threads()
    limit_blas_threads()
    assert calls == [{"limits": 1, "user_api": "blas"}]


def test_numpy_import_phase_counts_the_childs_cpu_before_student_code(grade_toy):
    # The interpreter and numpy import cost CPU for every submission, even when a pooled
    # sandbox did it ahead of time: the phase reports it instead of None.
    report = grade_toy(GOOD)
    phase = report.phases["numpy_import"]
    assert phase["cpu_s"] is not None and phase["cpu_s"] > 0
