"""Where one grading's time goes: wall and CPU seconds per phase (``Report.phases``).

Phases (all seconds): ``sandbox_start`` (bubblewrap and the interpreter, until the child's first
line runs), ``numpy_import`` (the child imports numpy), ``student_import`` (the submission's
top-level code), ``student_compute`` (calls of the student's functions, send to reply),
``diagnosis`` (the diagnosis hook, its probe calls included), ``checks`` (trusted-side work of
the tests: reference solutions, finite differences, comparisons; the test loop minus student
compute and diagnosis) and ``setup`` (loading the assignment). CPU of the student phases is the
child's (``ChildHandle.cpu_seconds``), of the trusted phases this process's
(``time.process_time``, all its threads); ``numpy_import``'s CPU is the sandbox's whole CPU
until its ready frame (interpreter, numpy and child imports, spent ahead of time when the
sandbox came from the pool); None where it cannot be measured. Read by ``bench/cost.py`` and the
``gradelab_sandbox_start_seconds`` metric; never by anything that scores.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: Phases in the order a grading goes through them.
PHASES = ("setup", "sandbox_start", "numpy_import", "student_import", "student_compute",
          "checks", "diagnosis")


@dataclass
class PhaseClock:
    """Accumulated ``wall`` and ``cpu`` seconds per phase name."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, wall_s: float, cpu_s: float | None = None) -> None:
        """Add ``wall_s`` (and ``cpu_s`` when known, negative values clipped to 0) to ``name``."""
        self.wall[name] = self.wall.get(name, 0.0) + max(float(wall_s), 0.0)
        if cpu_s is not None:
            self.cpu[name] = self.cpu.get(name, 0.0) + max(float(cpu_s), 0.0)

    def to_dict(self) -> dict[str, dict[str, float | None]]:
        """Return ``{phase: {"wall_s": .., "cpu_s": .. or None}}`` rounded to 0.1 ms."""
        names = [p for p in PHASES if p in self.wall] + [p for p in self.wall if p not in PHASES]
        return {n: {"wall_s": round(self.wall[n], 4),
                    "cpu_s": round(self.cpu[n], 4) if n in self.cpu else None} for n in names}
