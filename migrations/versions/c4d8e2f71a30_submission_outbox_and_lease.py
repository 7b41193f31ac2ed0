"""Submission outbox flag (send_pending) and grading lease (lease_holder, lease_expires_at).

Revision ID: c4d8e2f71a30
Revises: c4d9e8a1f310
Create Date: 2026-12-02 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d8e2f71a30'
down_revision = 'c4d9e8a1f310'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('send_pending', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column('lease_holder', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_submission_send_pending'), ['send_pending'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_send_pending'))
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_holder')
        batch_op.drop_column('send_pending')
