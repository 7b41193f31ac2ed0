"""Audit history of grade changes (audit_event) and removable overrides (score_override.removed_*).

Revision ID: c41a7d2e9f10
Revises: d7a3b2c9e014
Create Date: 2026-12-02 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41a7d2e9f10'
down_revision = 'd7a3b2c9e014'
branch_labels = None
depends_on = None

KINDS = ("grade", "override", "override_removed", "extension", "extension_removed",
         "regrade", "release")


def upgrade():
    op.create_table(
        'audit_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('student_id', sa.Integer(), nullable=True),
        sa.Column('assignment_id', sa.Integer(), nullable=True),
        sa.Column('submission_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('old_value', sa.String(length=200), nullable=True),
        sa.Column('new_value', sa.String(length=200), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS!r}", name=op.f('ck_audit_event_kind')),
        sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_event_actor_id_user')),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'],
                                name=op.f('fk_audit_event_assignment_id_assignment')),
        sa.ForeignKeyConstraint(['student_id'], ['user.id'], name=op.f('fk_audit_event_student_id_user')),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ondelete='SET NULL',
                                name=op.f('fk_audit_event_submission_id_submission')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_student_id'), ['student_id'], unique=False)
    with op.batch_alter_table('score_override', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('removed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_score_override_removed_by_id_user'), 'user',
                                    ['removed_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('score_override', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_score_override_removed_by_id_user'), type_='foreignkey')
        batch_op.drop_column('removed_by_id')
        batch_op.drop_column('removed_at')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_student_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_assignment_id'))
    op.drop_table('audit_event')
