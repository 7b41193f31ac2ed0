"""Course settings per assignment (assignment_settings), student regrade requests
(regrade_request), audit kinds setting / regrade_request / regrade_answer (issue 14).

Revision ID: a8e4c61d2f57
Revises: a9e4c7d21b55
Create Date: 2026-12-07 07:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'a8e4c61d2f57'
down_revision = 'a9e4c7d21b55'
branch_labels = None
depends_on = None

OLD_KINDS = ("grade", "override", "override_removed", "extension", "extension_removed",
             "regrade", "release", "password_changed", "password_reset_issued",
             "password_reset_used")
NEW_KINDS = OLD_KINDS + ("setting", "regrade_request", "regrade_answer")


def upgrade():
    op.create_table(
        'assignment_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('hard_deadline_at', sa.DateTime(), nullable=True),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('late_percent_per_day', sa.Float(), nullable=False),
        sa.Column('late_max_percent', sa.Float(), nullable=False),
        sa.Column('hidden_release', sa.String(length=20), nullable=False),
        sa.Column('released_at', sa.DateTime(), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("hidden_release IN ('now', 'due_date', 'manual')",
                           name=op.f('ck_assignment_settings_hidden_release')),
        sa.CheckConstraint('max_attempts >= 0',
                           name=op.f('ck_assignment_settings_max_attempts_nonnegative')),
        sa.CheckConstraint('late_percent_per_day >= 0 AND late_percent_per_day <= 100',
                           name=op.f('ck_assignment_settings_late_percent_per_day_range')),
        sa.CheckConstraint('late_max_percent >= 0 AND late_max_percent <= 100',
                           name=op.f('ck_assignment_settings_late_max_percent_range')),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], ondelete='CASCADE',
                                name=op.f('fk_assignment_settings_assignment_id_assignment')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'],
                                name=op.f('fk_assignment_settings_updated_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_settings')),
        sa.UniqueConstraint('assignment_id', name=op.f('uq_assignment_settings_assignment_id')),
    )
    op.create_table(
        'regrade_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('student_id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('test_name', sa.String(length=300), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('resolution', sa.String(length=20), nullable=True),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'answered')", name=op.f('ck_regrade_request_status')),
        sa.CheckConstraint("resolution IS NULL OR resolution IN ('answer', 'regrade', 'override')",
                           name=op.f('ck_regrade_request_resolution')),
        sa.ForeignKeyConstraint(['answered_by_id'], ['user.id'],
                                name=op.f('fk_regrade_request_answered_by_id_user')),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'],
                                name=op.f('fk_regrade_request_assignment_id_assignment')),
        sa.ForeignKeyConstraint(['student_id'], ['user.id'],
                                name=op.f('fk_regrade_request_student_id_user')),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ondelete='CASCADE',
                                name=op.f('fk_regrade_request_submission_id_submission')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_regrade_request')),
    )
    with op.batch_alter_table('regrade_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regrade_request_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_regrade_request_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_regrade_request_student_id'), ['student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_regrade_request_submission_id'), ['submission_id'], unique=False)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_audit_event_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN {NEW_KINDS!r}")


def downgrade():
    op.execute("DELETE FROM audit_event WHERE kind IN ('setting', 'regrade_request', "
               "'regrade_answer')")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_audit_event_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN {OLD_KINDS!r}")
    with op.batch_alter_table('regrade_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regrade_request_submission_id'))
        batch_op.drop_index(batch_op.f('ix_regrade_request_student_id'))
        batch_op.drop_index(batch_op.f('ix_regrade_request_status'))
        batch_op.drop_index(batch_op.f('ix_regrade_request_assignment_id'))
    op.drop_table('regrade_request')
    op.drop_table('assignment_settings')
