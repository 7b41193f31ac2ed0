"""Instructor pages of the similarity report (issue 16 §3): request, ranked pairs, side by side.

Only instructors see them (students get 403 from :func:`grader.web.auth.instructor_required`).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from grader.course.db import db
from grader.course.models import SimilarityReport, Submission
from grader.course.similarity import FLAG_AT, segments
from grader.course.similarity_report import request_report
from grader.web.auth import instructor_required
from grader.web.forms import ConfirmForm
from grader.web.student import get_assignment

bp = Blueprint("similarity", __name__, url_prefix="/instructor")


@bp.route("/assignments/<slug>/similarity", methods=["GET", "POST"])
@instructor_required
def report(slug: str):
    """GET: the latest report (ranked pairs; refreshes itself while it runs). POST: request a
    new one (a Celery job on the maintenance queue)."""
    assignment = get_assignment(slug)
    form = ConfirmForm()
    if form.validate_on_submit():
        new = request_report(assignment, current_user)
        if new.status == "failed":
            flash(f"The similarity report could not be started: {new.error}", "error")
        else:
            flash("Similarity report requested; this page updates when it is ready.", "info")
        return redirect(url_for("similarity.report", slug=slug))
    latest = db.session.scalars(select(SimilarityReport)
                                .where(SimilarityReport.assignment_id == assignment.id)
                                .order_by(SimilarityReport.id.desc()).limit(1)).first()
    return render_template("instructor/similarity.html", assignment=assignment, report=latest,
                           form=form, flag_at=FLAG_AT)


@bp.route("/similarity/<int:report_id>/pairs/<int:rank>")
@instructor_required
def pair(report_id: int, rank: int):
    """Side-by-side view of pair number ``rank`` (1 = most similar), matched regions marked."""
    rep = db.session.get(SimilarityReport, report_id)
    if rep is None or rep.status != "done" or not 1 <= rank <= len(rep.pairs or []):
        abort(404)
    data = rep.pairs[rank - 1]
    sides = []
    for key in ("a", "b"):
        sub = db.session.get(Submission, data[f"{key}_submission"])
        if sub is None:
            abort(404)
        sides.append({"username": data[key], "submission": sub,
                      "similarity": data[f"similarity_{key}"],
                      "segments": segments(sub.source_text, data[f"slices_{key}"])})
    return render_template("instructor/similarity_pair.html", report=rep, pair=data, rank=rank,
                           sides=sides, assignment=rep.assignment)
