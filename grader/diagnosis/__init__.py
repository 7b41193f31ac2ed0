"""Misconception diagnosis (issue 6): explain *why* a failed value or gradient test failed.

Trusted side only. When a check fails, the engine calls :func:`diagnose` (``hook.py``) with the
failed test's result and the submission's session; the diagnoser asks the engine to
run the student's function on a few fresh probe inputs of its own (never the hidden ones), then
tries every misconception registered for that function in ``assignments/<slug>/misconceptions.py``
and returns those that reproduce the student's outputs on all of them. See ``docs/diagnosis.md``.
"""
from grader.diagnosis.hook import diagnose, one_per_mistake
from grader.diagnosis.matcher import diagnose as diagnose_observations
from grader.diagnosis.model import Diagnosis, Misconception, Observation, PartSpec, Variants
from grader.diagnosis.registry import Registry, RegistryError, load_registry

__all__ = ["Diagnosis", "Misconception", "Observation", "PartSpec", "Registry", "RegistryError",
           "Variants", "diagnose", "diagnose_observations", "load_registry",
           "one_per_mistake"]
