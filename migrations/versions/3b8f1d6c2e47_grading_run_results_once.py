"""grading_run: per-test results stored once, in ``report['tests']`` (the ``results`` column
held a second copy of the same list).

Rows whose report lacks its tests (none are known; written defensively) get them from
``results`` before the column is dropped. Downgrade restores the column from the report.

Revision ID: 3b8f1d6c2e47
Revises: a8e4c61d2f57
Create Date: 2026-12-07 07:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b8f1d6c2e47'
down_revision = 'a8e4c61d2f57'
branch_labels = None
depends_on = None

_runs = sa.table('grading_run', sa.column('id', sa.Integer), sa.column('report', sa.JSON),
                 sa.column('results', sa.JSON))


def upgrade():
    bind = op.get_bind()
    for row in bind.execute(sa.select(_runs.c.id, _runs.c.report, _runs.c.results)).all():
        report = dict(row.report or {})
        if not report.get('tests') and row.results:
            report['tests'] = list(row.results)
            bind.execute(_runs.update().where(_runs.c.id == row.id).values(report=report))
    with op.batch_alter_table('grading_run', schema=None) as batch_op:
        batch_op.drop_column('results')


def downgrade():
    with op.batch_alter_table('grading_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('results', sa.JSON(), nullable=True))
    bind = op.get_bind()
    for row in bind.execute(sa.select(_runs.c.id, _runs.c.report)).all():
        bind.execute(_runs.update().where(_runs.c.id == row.id)
                     .values(results=list((row.report or {}).get('tests') or [])))
    with op.batch_alter_table('grading_run', schema=None) as batch_op:
        batch_op.alter_column('results', existing_type=sa.JSON(), nullable=False)
