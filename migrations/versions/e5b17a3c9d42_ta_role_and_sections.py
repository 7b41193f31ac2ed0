"""TA role (user.role 'ta'), a student's section (user.section), a TA's sections (user.ta_sections).

Revision ID: e5b17a3c9d42
Revises: c41a7d2e9f10
Create Date: 2026-12-02 19:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e5b17a3c9d42'
down_revision = 'c41a7d2e9f10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('section', sa.String(length=50), server_default='', nullable=False))
        batch_op.add_column(sa.Column('ta_sections', sa.JSON(), server_default='[]', nullable=False))
        batch_op.create_index(batch_op.f('ix_user_section'), ['section'], unique=False)
        batch_op.drop_constraint(batch_op.f('ck_user_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('student', 'ta', 'instructor')")


def downgrade():
    op.execute("UPDATE \"user\" SET role = 'student' WHERE role = 'ta'")
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('student', 'instructor')")
        batch_op.drop_index(batch_op.f('ix_user_section'))
        batch_op.drop_column('ta_sections')
        batch_op.drop_column('section')
