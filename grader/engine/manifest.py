"""Parse ``assignments/<slug>/manifest.toml`` into typed, validated dataclasses.

The format is fixed in ``docs/ARCHITECTURE.md`` ("Assignment folder"). Every problem raises
:class:`grader.engine.errors.ManifestError` whose message names the file, the key and the fix.
"""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.engine.errors import ManifestError

VISIBILITIES = ("visible", "hidden", "after_due_date")
SCORE_POLICIES = ("best", "last")
HIDDEN_FEEDBACK = ("after_due_date", "never", "always")
_SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Limits:
    """Sandbox limits for grading one submission (all of its tests together).

    Times are seconds, sizes as named (MiB or bytes). ``reply_bytes`` caps one frame from the
    child; ``output_bytes`` caps the captured stdout/stderr.
    """

    cpu_seconds: float = 20.0
    wall_seconds: float = 60.0
    memory_mb: int = 512
    max_processes: int = 32
    file_size_mb: int = 16
    open_files: int = 64
    output_bytes: int = 65536
    reply_bytes: int = 64 * 1024 * 1024
    tmpfs_mb: int = 32


@dataclass(frozen=True)
class Tolerances:
    """Default ``np.allclose`` tolerances: pass when ``|got - expected| <= atol + rtol*|expected|``."""

    rtol: float = 1e-6
    atol: float = 1e-8


@dataclass(frozen=True)
class LatePolicy:
    """Late penalty: ``percent_per_day`` per started day after ``due``, at most ``max_percent``."""

    percent_per_day: float = 0.0
    max_percent: float = 0.0


@dataclass(frozen=True)
class RateLimit:
    """At most ``max_submissions`` per student and assignment in ``window_seconds`` (0 = off)."""

    max_submissions: int = 0
    window_seconds: int = 3600


@dataclass(frozen=True)
class TestSpec:
    """One ``[[tests]]`` entry: a check function in ``tests.py`` and how it is scored.

    ``time_limit`` is CPU seconds per call to a student function; ``rtol``/``atol`` are the
    tolerances in force for this test (the manifest defaults unless the entry overrides them).
    ``split`` gives the points of each output of a function that returns several (e.g.
    ``split = { loss = 0.5, grads = 1.5 }``; they add up to ``points``), scored separately by
    :meth:`grader.engine.testkit.TestContext.score_outputs`; empty when the test is scored whole.
    """

    __test__ = False  # not a pytest class

    name: str
    check: str
    part: str
    points: float
    visibility: str = "visible"
    time_limit: float = 2.0
    rtol: float = 1e-6
    atol: float = 1e-8
    split: tuple[tuple[str, float], ...] = ()

    @property
    def hidden(self) -> bool:
        """True when the test's inputs must stay secret (any visibility but ``visible``)."""
        return self.visibility != "visible"


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated assignment manifest; ``due``/``hard_deadline`` are aware UTC datetimes."""

    slug: str
    title: str
    due: dt.datetime | None
    hard_deadline: dt.datetime | None = None
    max_attempts: int = 0
    score_policy: str = "best"
    hidden_feedback: str = "after_due_date"
    late_policy: LatePolicy = field(default_factory=LatePolicy)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    limits: Limits = field(default_factory=Limits)
    tolerances: Tolerances = field(default_factory=Tolerances)
    tests: tuple[TestSpec, ...] = ()

    @property
    def max_score(self) -> float:
        """Sum of the points of every test."""
        return float(sum(t.points for t in self.tests))

    @property
    def parts(self) -> tuple[str, ...]:
        """Student function names graded by this assignment, in manifest order, no repeats."""
        return tuple(dict.fromkeys(t.part for t in self.tests))


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate the manifest file at ``path``.

    Raises:
        ManifestError: the file is missing, unreadable, not TOML, or invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest ({exc})") from exc
    return parse_manifest(text, source=str(path))


def parse_manifest(text: str, *, source: str = "manifest.toml") -> Manifest:
    """Parse manifest TOML text; ``source`` names the file in error messages.

    Raises:
        ManifestError: invalid TOML, a missing or mistyped key, an unknown key, a bad value.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{source}: not valid TOML: {exc}") from exc
    p = _Parser(source)
    top_keys = {
        "slug", "title", "due", "hard_deadline", "max_attempts", "score_policy",
        "hidden_feedback", "late_policy", "rate_limit", "limits", "tolerances", "tests",
    }
    p.no_unknown(data, top_keys, "top level")
    slug = p.req(data, "slug", str)
    if not _SLUG_RE.match(slug):
        p.fail("slug", f"{slug!r} must be lower-case letters, digits and '_', starting with a letter")
    tol = p.tolerances(data)
    limits = p.limits(data)
    late = p.late_policy(data)
    rate = p.rate_limit(data)
    tests = p.tests(data.get("tests"), tol)
    manifest = Manifest(
        slug=slug,
        title=p.req(data, "title", str),
        due=p.datetime(data, "due"),
        hard_deadline=p.datetime(data, "hard_deadline"),
        max_attempts=p.number(data, "max_attempts", 0, "max_attempts", minimum=0, integer=True),
        score_policy=p.choice(data, "score_policy", SCORE_POLICIES, "best"),
        hidden_feedback=p.choice(data, "hidden_feedback", HIDDEN_FEEDBACK, "after_due_date"),
        late_policy=late,
        rate_limit=rate,
        limits=limits,
        tolerances=tol,
        tests=tests,
    )
    if manifest.due and manifest.hard_deadline and manifest.hard_deadline < manifest.due:
        p.fail("hard_deadline", "must not be earlier than 'due'")
    return manifest


class _Parser:
    """Small helpers that validate one value each and raise :class:`ManifestError`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, why: str) -> None:
        raise ManifestError(f"{self.source}: '{key}' {why}")

    def no_unknown(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise ManifestError(
                f"{self.source}: unknown key(s) {', '.join(extra)} in {where}; "
                f"allowed: {', '.join(sorted(allowed))}")

    def req(self, table: dict[str, Any], key: str, typ: type, where: str | None = None) -> Any:
        where = where or key
        if key not in table:
            self.fail(where, "is required")
        value = table[key]
        if not isinstance(value, typ) or (typ is str and not value.strip()):
            self.fail(where, f"must be a non-empty {typ.__name__}, got {value!r}")
        return value

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, "must be a table, e.g. [" + key + "]")
        return value

    def number(self, table: dict[str, Any], key: str, default: Any, where: str, *,
               minimum: float | None = None, maximum: float | None = None,
               integer: bool = False) -> Any:
        if key not in table:
            return default
        value = table[key]
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            self.fail(where, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
        if value != value or (minimum is not None and value < minimum) or (
                maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.fail(where, f"must be {bounds}, got {value!r}")
        return int(value) if integer else float(value)

    def choice(self, table: dict[str, Any], key: str, allowed: tuple[str, ...], default: str,
               where: str | None = None) -> str:
        value = table.get(key, default)
        if value not in allowed:
            self.fail(where or key, f"must be one of {', '.join(allowed)}; got {value!r}")
        return value

    def datetime(self, table: dict[str, Any], key: str) -> dt.datetime | None:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.fail(key, f"must be an ISO 8601 time such as 2026-12-18T23:59:00Z, got {value!r}")
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            self.fail(key, "must be a date-time with a time zone, e.g. 2026-12-18T23:59:00Z")
        return value.astimezone(dt.timezone.utc)

    def split(self, raw: Any, points: float, where: str) -> tuple[tuple[str, float], ...]:
        """Points per output, e.g. ``{ loss = 0.5, grads = 1.5 }``: identifiers mapped to
        non-negative numbers that add up to the test's ``points``."""
        if raw is None:
            return ()
        if not isinstance(raw, dict) or not raw:
            self.fail(where, "must be a table of output names and points, e.g. "
                             "{ loss = 0.5, grads = 1.5 }")
        out = []
        for name, value in raw.items():
            if not _IDENT_RE.match(name):
                self.fail(f"{where}.{name}", "must be a Python identifier")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                self.fail(f"{where}.{name}", f"must be a number >= 0, got {value!r}")
            out.append((name, float(value)))
        if abs(sum(v for _, v in out) - points) > 1e-9:
            self.fail(where, f"adds up to {sum(v for _, v in out):g}; it must add up to the "
                             f"test's points ({points:g})")
        return tuple(out)

    def tolerances(self, data: dict[str, Any]) -> Tolerances:
        """The ``[tolerances]`` table (absent = the defaults)."""
        tol_d = self.table(data, "tolerances")
        self.no_unknown(tol_d, {"rtol", "atol"}, "[tolerances]")
        return Tolerances(
            rtol=self.number(tol_d, "rtol", Tolerances.rtol, "tolerances.rtol", minimum=0.0),
            atol=self.number(tol_d, "atol", Tolerances.atol, "tolerances.atol", minimum=0.0),
        )

    def limits(self, data: dict[str, Any]) -> Limits:
        """The ``[limits]`` table: every field of :class:`Limits`, each > 0 (absent = default)."""
        lim_d = self.table(data, "limits")
        defaults = Limits()
        self.no_unknown(lim_d, set(defaults.__dataclass_fields__), "[limits]")
        return Limits(**{
            k: self.number(lim_d, k, getattr(defaults, k), f"limits.{k}", minimum=1e-9,
                           integer=isinstance(getattr(defaults, k), int))
            for k in defaults.__dataclass_fields__
        })

    def late_policy(self, data: dict[str, Any]) -> LatePolicy:
        """The ``[late_policy]`` table: percentages between 0 and 100 (absent = no penalty)."""
        late_d = self.table(data, "late_policy")
        self.no_unknown(late_d, {"percent_per_day", "max_percent"}, "[late_policy]")
        return LatePolicy(
            percent_per_day=self.number(late_d, "percent_per_day", 0.0, "late_policy.percent_per_day",
                                        minimum=0.0, maximum=100.0),
            max_percent=self.number(late_d, "max_percent", 0.0, "late_policy.max_percent",
                                    minimum=0.0, maximum=100.0),
        )

    def rate_limit(self, data: dict[str, Any]) -> RateLimit:
        """The ``[rate_limit]`` table (absent = no limit, a window of one hour)."""
        rate_d = self.table(data, "rate_limit")
        self.no_unknown(rate_d, {"max_submissions", "window_seconds"}, "[rate_limit]")
        return RateLimit(
            max_submissions=self.number(rate_d, "max_submissions", 0, "rate_limit.max_submissions",
                                        minimum=0, integer=True),
            window_seconds=self.number(rate_d, "window_seconds", 3600, "rate_limit.window_seconds",
                                       minimum=1, integer=True),
        )

    def tests(self, raw: Any, tol: Tolerances) -> tuple[TestSpec, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail("tests", "must list at least one [[tests]] entry")
        allowed = {"name", "check", "part", "points", "visibility", "time_limit", "rtol", "atol",
                   "split"}
        specs: list[TestSpec] = []
        names: set[str] = set()
        for i, entry in enumerate(raw):
            where = f"tests[{i}]"
            if not isinstance(entry, dict):
                self.fail(where, "must be a table")
            self.no_unknown(entry, allowed, f"[[tests]] entry {i}")
            name = self.req(entry, "name", str, f"{where}.name")
            if name in names:
                self.fail(f"{where}.name", f"{name!r} is used twice; test names must be unique")
            names.add(name)
            check = self.req(entry, "check", str, f"{where}.check")
            part = self.req(entry, "part", str, f"{where}.part")
            for key, value in (("check", check), ("part", part)):
                if not _IDENT_RE.match(value):
                    self.fail(f"{where}.{key}", f"must be a Python identifier, got {value!r}")
            if "points" not in entry:
                self.fail(f"{where}.points", "is required")
            points = self.number(entry, "points", 0.0, f"{where}.points", minimum=0.0)
            specs.append(TestSpec(
                name=name, check=check, part=part, points=points,
                split=self.split(entry.get("split"), points, f"{where}.split"),
                visibility=self.choice(entry, "visibility", VISIBILITIES, "visible",
                                       f"{where}.visibility"),
                time_limit=self.number(entry, "time_limit", 2.0, f"{where}.time_limit",
                                       minimum=1e-3),
                rtol=self.number(entry, "rtol", tol.rtol, f"{where}.rtol", minimum=0.0),
                atol=self.number(entry, "atol", tol.atol, f"{where}.atol", minimum=0.0),
            ))
        return tuple(specs)
