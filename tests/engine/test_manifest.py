"""Manifest parsing: the documented format, defaults, and clear errors for bad manifests."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from grader.engine.assignment import list_slugs, load_assignment
from grader.engine.errors import ManifestError, UnknownAssignmentError
from grader.engine.manifest import Limits, parse_manifest

MINIMAL = """
slug = "demo"
title = "Demo"
[[tests]]
name = "f works"
check = "check_f"
part = "f"
points = 2
"""


def test_minimal_manifest_gets_safe_defaults():
    m = parse_manifest(MINIMAL)
    assert m.slug == "demo" and m.due is None and m.max_attempts == 0
    assert m.limits == Limits() and m.score_policy == "best"
    (t,) = m.tests
    assert (t.points, t.visibility, t.time_limit, t.rtol, t.atol) == (2.0, "visible", 2.0, 1e-6, 1e-8)
    assert m.max_score == 2.0 and m.parts == ("f",)


def test_full_manifest_values_and_test_overrides():
    text = MINIMAL.replace('title = "Demo"', '''title = "Demo"
due = "2026-12-18T23:59:00Z"
hard_deadline = 2026-12-21T23:59:00Z
score_policy = "last"
[tolerances]
rtol = 1e-4
atol = 1e-7
[limits]
cpu_seconds = 5
memory_mb = 256
[late_policy]
percent_per_day = 10.0
max_percent = 50
''') + 'visibility = "hidden"\nrtol = 1e-3\ntime_limit = 4\n'
    m = parse_manifest(text)
    assert m.due == dt.datetime(2026, 12, 18, 23, 59, tzinfo=dt.timezone.utc)
    assert m.hard_deadline.tzinfo is not None
    assert m.limits.cpu_seconds == 5.0 and m.limits.memory_mb == 256
    assert m.late_policy.max_percent == 50.0
    t = m.tests[0]
    assert (t.visibility, t.rtol, t.atol, t.time_limit, t.hidden) == ("hidden", 1e-3, 1e-7, 4.0, True)


@pytest.mark.parametrize("edit, words", [
    (lambda s: s.replace('slug = "demo"', ""), ["'slug' is required"]),
    (lambda s: s.replace('"demo"', '"Bad Slug"'), ["slug", "lower-case"]),
    (lambda s: s + 'visibility = "secret"\n', ["tests[0].visibility", "visible, hidden"]),
    (lambda s: s + "points = -1\n", ["Cannot overwrite", "TOML"]),
    (lambda s: s.replace("points = 2", "points = -1"), ["tests[0].points", ">= 0.0"]),
    (lambda s: s.replace("points = 2", 'points = "two"'), ["tests[0].points", "number"]),
    (lambda s: s.replace('check = "check_f"', 'check = "check f"'), ["identifier"]),
    (lambda s: s + "colour = 1\n", ["unknown key(s) colour", "[[tests]] entry 0"]),
    (lambda s: s + '[[tests]]\nname = "f works"\ncheck = "c"\npart = "f"\npoints = 1\n',
     ["used twice"]),
    (lambda s: 'due = "next friday"\n' + s, ["due", "ISO 8601"]),
    (lambda s: 'due = 2026-12-18T23:59:00\n' + s, ["time zone"]),
    (lambda s: s.split("[[tests]]")[0], ["at least one [[tests]]"]),
    (lambda s: s + "[limits]\ncpu_seconds = 0\n", ["limits.cpu_seconds"]),
    (lambda s: 'score_policy = "worst"\n' + s, ["score_policy", "best, last"]),
])
def test_bad_manifests_raise_clear_errors(edit, words):
    with pytest.raises(ManifestError) as info:
        parse_manifest(edit(MINIMAL), source="assignments/demo/manifest.toml")
    msg = str(info.value)
    assert msg.startswith("assignments/demo/manifest.toml")
    for w in words:
        assert w in msg


def test_every_shipped_assignment_loads_with_its_checks_and_reference():
    slugs = list_slugs()
    assert {"xor", "chain_rule", "mlp_backprop"} <= set(slugs)
    for slug in slugs:
        a = load_assignment(slug)
        assert a.manifest.slug == slug
        checks = a.tests_module()
        assert all(callable(getattr(checks, t.check)) for t in a.manifest.tests)
        ref = a.reference_module()
        assert all(callable(getattr(ref, part)) for part in a.manifest.parts)
        assert a.starter_path.is_file() and a.spec_path.is_file()


def test_unknown_slug_lists_the_known_ones():
    with pytest.raises(UnknownAssignmentError, match="known assignments: .*mlp_backprop"):
        load_assignment("no_such_assignment")
    with pytest.raises(UnknownAssignmentError):
        load_assignment("../mlp_backprop")


def test_points_table_of_every_spec_matches_its_manifest():
    # the "How it is graded" table students read: per part the points of its tests in
    # manifest order ("2 + 1"), and the total
    for slug in list_slugs():
        a = load_assignment(slug)
        text = a.spec_path.read_text(encoding="utf-8")
        total = re.search(r"^\| \*\*total\*\* \| \| \*\*([\d.]+)\*\* \|$", text, re.M)
        assert total, f"{slug}: spec.md has no points total"
        assert float(total.group(1)) == a.manifest.max_score, slug
        for part in a.manifest.parts:
            row = re.search(rf"^\| `{part}` \|.*\| ([\d. +]+) \|$", text, re.M)
            assert row, f"{slug}: no points row for {part}"
            listed = [float(p) for p in row.group(1).split("+")]
            assert listed == [t.points for t in a.manifest.tests if t.part == part], (slug, part)


def test_split_gives_points_per_output_and_must_add_up():
    """issue 11: a several-output function is scored per output, with the split in the manifest."""
    m = parse_manifest(MINIMAL + "split = { loss = 0.5, grads = 1.5 }\n")
    assert m.tests[0].split == (("loss", 0.5), ("grads", 1.5))
    assert parse_manifest(MINIMAL).tests[0].split == ()
    for bad, words in (("split = { loss = 1.0, grads = 1.5 }", ["split", "adds up to 2.5"]),
                       ("split = { loss = -1.0, grads = 3.0 }", ["split.loss", ">= 0"]),
                       ('split = { loss = "half", grads = 1.5 }', ["split.loss"]),
                       ("split = 2", ["split", "table"])):
        with pytest.raises(ManifestError) as err:
            parse_manifest(MINIMAL + bad + "\n")
        for w in words:
            assert w in str(err.value), (bad, str(err.value))
