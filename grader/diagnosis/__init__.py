"""Misconception diagnosis (issue 6): explain *why* a failed value or gradient test failed.

Trusted side only. When a check fails, the engine hands the failed function's name and the
test's inputs to :func:`grader.diagnosis.hook.diagnose_result`; the diagnoser asks the engine to
run the student's function on a few fresh probe inputs of its own (never the hidden ones), then
tries every misconception registered for that function in ``assignments/<slug>/misconceptions.py``
and returns those that reproduce the student's outputs on all of them. See ``docs/diagnosis.md``.
"""
from grader.diagnosis.matcher import diagnose
from grader.diagnosis.model import Diagnosis, Misconception, Observation, PartSpec, Variants
from grader.diagnosis.registry import Registry, RegistryError, load_registry

__all__ = ["Diagnosis", "Misconception", "Observation", "PartSpec", "Registry", "RegistryError",
           "Variants", "diagnose", "load_registry"]
