"""The gradebook page's query: search, filters (section, status, score range), sort and pages.

:func:`query_gradebook` returns one :class:`GradebookPage` of the students a viewer may see; the
page and its CSV (``grader.web.instructor.gradebook_page``) parse their arguments with
:meth:`GradebookQuery.from_args`. The cells themselves are :func:`grader.course.gradebook.build_gradebook`'s.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from grader.course.db import db
from grader.course.gradebook import Gradebook, build_gradebook, students_query
from grader.course.models import Assignment, User

STATUS_FILTERS = ("missing", "late", "overridden", "not_gradable")
USER_SORTS = {"username": User.username, "name": User.name, "email": User.email,
              "section": User.section}
PER_PAGE_CHOICES = (25, 50, 100, 200)


@dataclass(frozen=True)
class GradebookQuery:
    """What the gradebook page (and its CSV) shows: search, filters, sort and page.

    ``search`` matches username, name or e-mail; ``status`` (one of :data:`STATUS_FILTERS`) and
    the score range ``score_min``..``score_max`` (points, inclusive) apply to ``column``: an
    assignment slug, or ``""`` for any assignment (status) and the total (score range).
    ``sort`` is ``username``, ``name``, ``email``, ``section``, ``total`` or an assignment
    slug; students without a score sort last in both directions.
    """

    search: str = ""
    section: str | None = None
    status: str | None = None
    column: str = ""
    score_min: float | None = None
    score_max: float | None = None
    sort: str = "username"
    descending: bool = False
    page: int = 1
    per_page: int = 50

    @property
    def needs_cells(self) -> bool:
        """True when filtering or sorting needs every matching student's scores."""
        return (self.sort not in USER_SORTS or self.status is not None
                or self.score_min is not None or self.score_max is not None)

    @classmethod
    def from_args(cls, args: Any, slugs: list[str], sections: list[str]) -> tuple[GradebookQuery, list[str]]:
        """Parse request arguments; return the query and the problems found (each bad value is
        ignored with a message, never an error page).

        ``args``: a mapping (``request.args``); ``slugs``: the assignments' slugs;
        ``sections``: the sections the viewer may choose.
        """
        problems: list[str] = []

        def number(name: str) -> float | None:
            text = (args.get(name) or "").strip()
            if not text:
                return None
            try:
                value = float(text)
            except ValueError:
                problems.append(f"'{text}' is not a number of points; the {name.replace('_', ' ')} "
                                "filter is off.")
                return None
            if not math.isfinite(value):
                problems.append(f"The {name.replace('_', ' ')} must be a finite number of points.")
                return None
            return value

        def integer(name: str, default: int) -> int:
            text = (args.get(name) or "").strip()
            return int(text) if text.isdigit() and int(text) > 0 else default

        section = (args.get("section") or "").strip() or None
        if section is not None and section not in sections:
            problems.append(f"No section '{section}' among yours; showing all of your sections.")
            section = None
        status = (args.get("status") or "").strip() or None
        if status is not None and status not in STATUS_FILTERS:
            problems.append(f"Unknown status '{status}'; use one of {', '.join(STATUS_FILTERS)}.")
            status = None
        column = (args.get("column") or "").strip()
        if column and column not in slugs:
            problems.append(f"No assignment '{column}'; the filters apply to every assignment.")
            column = ""
        sort = (args.get("sort") or "username").strip()
        if sort not in USER_SORTS and sort != "total" and sort not in slugs:
            problems.append(f"Cannot sort by '{sort}'; sorted by username.")
            sort = "username"
        low, high = number("score_min"), number("score_max")
        if low is not None and high is not None and low > high:
            problems.append(f"The score range {low:g} to {high:g} is empty; swapped it.")
            low, high = high, low
        per_page = integer("per_page", 50)
        if per_page not in PER_PAGE_CHOICES:
            problems.append(f"{per_page} rows per page is not offered (choose "
                            f"{', '.join(str(n) for n in PER_PAGE_CHOICES)}); showing 50.")
            per_page = 50
        return cls(search=(args.get("q") or "").strip()[:200], section=section, status=status,
                   column=column, score_min=low, score_max=high, sort=sort,
                   descending=(args.get("order") or "") == "desc", page=integer("page", 1),
                   per_page=per_page), problems


@dataclass(frozen=True)
class GradebookPage:
    """One page of the gradebook: ``book`` holds only this page's students, in order."""

    book: Gradebook
    query: GradebookQuery
    matched: int  # students that pass the search and filters
    page: int
    pages: int

    @property
    def first_index(self) -> int:
        """1-based position of the page's first student among the matches (0 when none)."""
        return 0 if not self.matched else (self.page - 1) * self.query.per_page + 1


def _score_key(value: float | None, descending: bool) -> tuple[int, float]:
    """Sort key putting missing scores last in both directions."""
    if value is None:
        return (1, 0.0)
    return (0, -value if descending else value)


def query_gradebook(viewer: User, query: GradebookQuery, *, paginate: bool = True,
                    assignments: list[Assignment] | None = None) -> GradebookPage:
    """Return the students ``viewer`` may see that match ``query``, sorted, one page of them.

    Sorting by a student column without a score filter pages in SQL and computes the cells of
    one page only; otherwise every matching student's cells are computed (three queries, see
    :func:`build_gradebook`) and filtered, sorted and cut in Python. ``paginate=False`` returns
    every match (the CSV).
    """
    if assignments is None:
        assignments = list(db.session.scalars(
            select(Assignment).order_by(Assignment.due_at, Assignment.slug)))
    base = students_query(viewer, query.section, query.search)
    if not query.needs_cells:
        return _page_in_sql(base, query, paginate, assignments)
    return _page_in_python(base, query, paginate, assignments)


def _page_bounds(query: GradebookQuery, matched: int, paginate: bool) -> tuple[int, int]:
    """``(page, pages)``: the requested page within the pages of ``matched`` students (1 and 1
    without pagination)."""
    pages = max(1, math.ceil(matched / query.per_page))
    return (min(query.page, pages), pages) if paginate else (1, 1)


def _page_in_sql(base: Select, query: GradebookQuery, paginate: bool,
                 assignments: list[Assignment]) -> GradebookPage:
    """Count, sort and cut the students in SQL (a student column, no score filter); compute the
    cells of that page's students only."""
    matched = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    page, pages = _page_bounds(query, matched, paginate)
    column = USER_SORTS[query.sort]
    order = [func.lower(column).desc() if query.descending else func.lower(column),
             User.username.desc() if query.descending else User.username]
    ordered = base.order_by(*order)
    if paginate:
        ordered = ordered.offset((page - 1) * query.per_page).limit(query.per_page)
    book = build_gradebook(list(db.session.scalars(ordered)), assignments)
    return GradebookPage(book, query, matched, page, pages)


def _page_in_python(base: Select, query: GradebookQuery, paginate: bool,
                    assignments: list[Assignment]) -> GradebookPage:
    """Compute every matching student's cells, then filter (status, score range), sort (a score
    column or the total; missing scores last) and cut the page in Python."""
    # Rows, not User objects: the columns a gradebook shows are all it needs, and 2,000 plain
    # rows load several times faster than 2,000 mapped objects.
    students = list(db.session.execute(base.with_only_columns(
        User.id, User.username, User.name, User.email, User.section).order_by(User.username)))
    full = build_gradebook(students, assignments)
    by_slug = {a.slug: a for a in assignments}
    totals = {s.id: full.total(s) for s in students}

    def column_score(student: Any, slug: str) -> float | None:
        return totals[student.id] if slug == "total" else full.cell(student, by_slug[slug]).score

    focus = by_slug.get(query.column)
    kept = [s for s in students if _matches(full, query, focus, student=s, score=column_score)]
    if query.sort in USER_SORTS:
        name = query.sort
        kept.sort(key=lambda s: ((getattr(s, name) or "").lower(), s.username),
                  reverse=query.descending)
    else:
        kept.sort(key=lambda s: s.username, reverse=query.descending)
        kept.sort(key=lambda s: _score_key(column_score(s, query.sort), query.descending))
    matched = len(kept)
    page, pages = _page_bounds(query, matched, paginate)
    if paginate:
        kept = kept[(page - 1) * query.per_page: page * query.per_page]
    cells = {(s.id, a.id): full.cells[(s.id, a.id)] for s in kept for a in assignments}
    return GradebookPage(Gradebook(kept, assignments, cells), query, matched, page, pages)


def _matches(book: Gradebook, query: GradebookQuery, focus: Assignment | None, *, student: Any,
             score: Callable[[Any, str], float | None]) -> bool:
    """True when ``student`` passes the status filter and the score range of ``focus`` (the
    assignment ``query.column`` names; None: any assignment for the status, the total for the
    range). ``score(student, slug_or_"total")`` reads a column's score."""
    if query.status is not None:
        cells = [book.cell(student, focus)] if focus else \
            [book.cell(student, a) for a in book.assignments]
        if not any(c.has_status(query.status) for c in cells):
            return False
    if query.score_min is not None or query.score_max is not None:
        value = score(student, focus.slug if focus else "total")
        if value is None:
            return False
        if query.score_min is not None and value < query.score_min:
            return False
        if query.score_max is not None and value > query.score_max:
            return False
    return True
