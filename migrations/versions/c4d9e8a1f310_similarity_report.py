"""similarity_report: instructors' similarity reports of an assignment (issue 16 section 3).

Revision ID: c4d9e8a1f310
Revises: b7c1e0a94d21
Create Date: 2026-12-02 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d9e8a1f310'
down_revision = 'b7c1e0a94d21'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'similarity_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('students', sa.Integer(), nullable=False),
        sa.Column('pairs', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                           name=op.f('ck_similarity_report_status')),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'],
                                name=op.f('fk_similarity_report_assignment_id_assignment')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'],
                                name=op.f('fk_similarity_report_requested_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_similarity_report')),
    )
    with op.batch_alter_table('similarity_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_similarity_report_assignment_id'), ['assignment_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('similarity_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_similarity_report_assignment_id'))
    op.drop_table('similarity_report')
