"""Tests of per-assignment registration (assignments/<slug>/misconceptions.py)."""
from __future__ import annotations

import pytest

from grader.diagnosis import registry


@pytest.fixture
def assignments(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADELAB_ASSIGNMENTS_DIR", str(tmp_path))
    monkeypatch.setattr(registry, "_CACHE", {})
    return tmp_path


def test_shipped_registries_load():
    for slug in ("chain_rule", "mlp_backprop"):
        reg = registry.load_registry(slug)
        assert reg.parts and reg.misconceptions
        assert all(key for key in reg.all_keys())


def test_missing_file_means_no_misconceptions(assignments):
    reg = registry.load_registry("xor_like")
    assert reg.parts == {} and reg.for_part("anything") == (None, [])


def test_instructor_can_add_a_misconception(assignments):
    folder = assignments / "demo"
    folder.mkdir()
    (folder / "misconceptions.py").write_text(
        "import numpy as np\n"
        "from grader.diagnosis.model import Misconception, PartSpec\n"
        "PARTS = [PartSpec(name='square', model=lambda a: (a[0] ** 2, {}), gradient=False,\n"
        "                  probes=lambda rng, seen: [(rng.normal(size=n),) for n in (3, 4, 5)])]\n"
        "MISCONCEPTIONS = {'square': [Misconception(key='cubed', title='Cube',\n"
        "    message='Probably: your {blocks} is a cube.',\n"
        "    transform=lambda case: {'value': case.args[0] ** 3})]}\n")
    from grader.diagnosis.probe import probe_and_diagnose
    found = probe_and_diagnose("demo", "square", lambda args_list: [args[0] ** 3 for args in args_list])
    assert [d.key for d in found] == ["cubed"]


def test_malformed_registry_raises(assignments):
    folder = assignments / "broken"
    folder.mkdir()
    (folder / "misconceptions.py").write_text("PARTS = []\nMISCONCEPTIONS = {'nope': []}\n")
    with pytest.raises(registry.RegistryError):
        registry.load_registry("broken")


def test_part_specs_live_in_the_assignments_own_diagnosis_file(assignments):
    """misconceptions.py imports its folder's diagnosis.py through the registry (an assignment
    folder is not a package); the shipped assignments do the same."""
    folder = assignments / "demo2"
    folder.mkdir()
    (folder / "diagnosis.py").write_text(
        "from grader.diagnosis.model import PartSpec\n"
        "def parts():\n"
        "    return [PartSpec(name='double', model=lambda a: (2 * a[0], {}), gradient=False,\n"
        "                     probes=lambda rng, seen: [(rng.normal(size=3),)])]\n")
    (folder / "misconceptions.py").write_text(
        "from pathlib import Path\n"
        "from grader.diagnosis.registry import assignment_file_module\n"
        "PARTS = assignment_file_module(Path(__file__).parent, 'diagnosis').parts()\n"
        "MISCONCEPTIONS = {}\n")
    assert list(registry.load_registry("demo2").parts) == ["double"]
    assert registry.assignment_module("demo2").parts()[0].name == "double"
    with pytest.raises(registry.RegistryError):
        registry.assignment_module("demo2", "no_such_file")


def test_shipped_part_specs_are_in_the_assignment_folders(repo_root):
    for slug in ("chain_rule", "mlp_backprop", "xor"):
        module = registry.assignment_module(slug)
        assert module.__file__ == str((repo_root / "assignments" / slug / "diagnosis.py").resolve())
        assert set(registry.load_registry(slug).parts) >= {p.name for p in module.parts()}
