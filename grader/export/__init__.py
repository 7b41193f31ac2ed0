"""Run gradelab's checks inside the graders courses already use (issue 16 section 4).

:mod:`grader.export.bundle` builds a Gradescope autograder zip or a PrairieLearn external-grader
question folder for one assignment; :mod:`grader.export.runner` is the entry point that runs
inside those platforms' containers and writes their ``results.json``; :mod:`grader.export.cli`
adds ``python -m grader export gradescope|prairielearn SLUG``.
"""
