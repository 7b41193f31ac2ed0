"""Submission.grading_tries: how often the worker started or the sweeper re-sent a grading.

Revision ID: b7c1e0a94d21
Revises: f3a2d324e524
Create Date: 2026-11-29 08:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1e0a94d21'
down_revision = 'f3a2d324e524'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('grading_tries', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('grading_tries')
