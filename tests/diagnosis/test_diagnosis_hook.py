"""Tests of the engine-facing hook with a stand-in session (no child process)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bench import diagnosis_corpus as corpus
from grader.diagnosis import diagnose
from grader.engine.errors import StudentCallError
from grader.engine.results import CheckRecord, TestResult

from .helpers import in_process_caller


class FakeSession:
    """Answers ``call``/``call_many`` with a trusted function; counts calls."""

    def __init__(self, fn, fail_on=None):
        self.fn, self.fail_on, self.calls = fn, fail_on, 0

    def call_many(self, name, args_list, time_limit):
        self.calls += 1
        if self.fail_on is not None:
            raise StudentCallError("boom", kind="exception")
        return in_process_caller(self.fn)(list(args_list))

    def call(self, name, args, time_limit):
        self.calls += 1
        if self.fail_on is not None and self.fail_on(args):
            raise StudentCallError("boom", kind="exception")
        return in_process_caller(self.fn)([args])[0]


def _mutant(name):
    (entry,) = [m for m in corpus.mutants() if m.name == name]
    return entry, corpus.functions(entry)


def _result(status, function, inputs=()):
    record = CheckRecord(function, "W1", inputs, None, None, "off")
    return TestResult("t", function, 0.0, 1.0, status, "feedback", records=[record])


SPEC = SimpleNamespace(time_limit=2.0)


def test_failed_gradient_test_is_diagnosed():
    entry, fns = _mutant("bw_sum")
    found = diagnose("mlp_backprop", SPEC, _result("failed", "mlp_backward"), runner=FakeSession(fns["mlp_backward"]))
    assert [d["key"] for d in found] == ["times_batch_size"]
    assert found[0]["message"].startswith("Probably")


@pytest.mark.parametrize("status", ["passed", "error", "timeout"])
def test_only_failed_checks_are_diagnosed(status):
    _, fns = _mutant("bw_sum")
    session = FakeSession(fns["mlp_backward"])
    assert diagnose("mlp_backprop", SPEC, _result(status, "mlp_backward"), runner=session) == []
    assert session.calls == 0


def test_no_runner_or_unknown_function_gives_nothing():
    assert diagnose("mlp_backprop", SPEC, _result("failed", "mlp_backward"), runner=None) == []
    _, fns = _mutant("bw_sum")
    assert diagnose("mlp_backprop", SPEC, _result("failed", "train_digits"), runner=FakeSession(fns["mlp_backward"])) == []
    assert diagnose("no_such_assignment", SPEC, _result("failed", "f"), runner=FakeSession(fns["mlp_backward"])) == []


def test_probe_failures_fall_back_to_single_calls():
    # a student whose code crashes for N = 1 is still diagnosed from the other probes
    entry, fns = _mutant("bw_sum")
    session = FakeSession(fns["mlp_backward"], fail_on=lambda args: args[1].shape[0] == 1)
    found = diagnose("mlp_backprop", SPEC, _result("failed", "mlp_backward"), runner=session)
    assert [d["key"] for d in found] == ["times_batch_size"]
    assert found[0]["evidence"]["independent_inputs"] == 3


def test_activation_of_failed_test_selects_probes():
    entry, fns = _mutant("deep_tanh_one_minus_z2")
    seen = ([{"W": 0, "b": 0}], None, None, "tanh")
    found = diagnose("mlp_backprop", SPEC, _result("failed", "deep_loss_and_grads", seen),
                     runner=FakeSession(fns["deep_loss_and_grads"]))
    assert found[0]["key"] == "derivative_formula_on_preactivation"
    seen_sigmoid = ([{"W": 0, "b": 0}], None, None, "sigmoid")
    assert diagnose("mlp_backprop", SPEC, _result("failed", "deep_loss_and_grads", seen_sigmoid),
                    runner=FakeSession(fns["deep_loss_and_grads"])) == []


def test_probe_timeout_stops_probing():
    class SlowSession(FakeSession):
        def call_many(self, name, args_list, time_limit):
            self.calls += 1
            raise StudentCallError("too slow", kind="timeout")

    _, fns = _mutant("bw_sum")
    session = SlowSession(fns["mlp_backward"])
    assert diagnose("mlp_backprop", SPEC, _result("failed", "mlp_backward"), runner=session) == []
    assert session.calls == 1


def test_visible_test_inputs_join_the_probes_hidden_ones_do_not():
    import numpy as np

    _, fns = _mutant("bw_sum")
    rng = np.random.default_rng(7)
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4),
              "W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=2)}
    inputs = (params, rng.normal(size=(9, 3)), rng.normal(size=(9, 2)))
    result = _result("failed", "mlp_backward", inputs)
    result.records.append(CheckRecord("mlp_backward", "b1", result.records[0].inputs, None, None, ""))
    visible = diagnose("mlp_backprop", SimpleNamespace(time_limit=2.0, hidden=False), result,
                       runner=FakeSession(fns["mlp_backward"]))
    hidden = diagnose("mlp_backprop", SimpleNamespace(time_limit=2.0, hidden=True), result,
                      runner=FakeSession(fns["mlp_backward"]))
    assert visible[0]["key"] == hidden[0]["key"] == "times_batch_size"
    assert visible[0]["evidence"]["independent_inputs"] == hidden[0]["evidence"]["independent_inputs"] + 1
    assert "9" not in hidden[0]["message"]   # the hidden batch size never appears


def test_probing_is_skipped_when_the_time_budget_runs_low():
    _, fns = _mutant("bw_sum")
    session = FakeSession(fns["mlp_backward"])
    session.limits = SimpleNamespace(cpu_seconds=60.0, wall_seconds=120.0)
    session.wall_left = 100.0
    session.cpu_left = lambda: 10.0          # less than half of the CPU budget left
    assert diagnose("mlp_backprop", SPEC, _result("failed", "mlp_backward"), runner=session) == []
    assert session.calls == 0
    session.cpu_left = lambda: 50.0
    assert diagnose("mlp_backprop", SPEC, _result("failed", "mlp_backward"), runner=session)


def test_answers_without_numbers_get_no_diagnosis_and_cost_no_model_search():
    """A function answering every probe with a string, None or an empty container has no
    numbers a mistake could explain: no diagnosis and no note (not 'the last layer is wrong')."""
    from grader.diagnosis.probe import has_numbers, probe_and_diagnose

    for answer in ("no", None, [], {}, {"W1": "x", "b1": None}, [("a",)], True):
        assert not has_numbers(answer)
        calls = []

        def call_many(args_list, answer=answer):
            calls.append(len(args_list))
            return [answer for _ in args_list]

        assert probe_and_diagnose("mlp_backprop", "mlp_backward", call_many,
                                  explain_rest=True) == []
        assert calls, "the probes were sent"
    for answer in (np.zeros(3), 1.5, {"W1": "x", "b1": np.ones(2)}, [[np.int64(2)]]):
        assert has_numbers(answer)
