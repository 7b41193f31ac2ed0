"""Password reset links (password_reset) and the password kinds of audit_event.

Revision ID: a9e4c7d21b55
Revises: e5b17a3c9d42
Create Date: 2026-12-07 07:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'a9e4c7d21b55'
down_revision = 'e5b17a3c9d42'
branch_labels = None
depends_on = None

OLD_KINDS = ("grade", "override", "override_removed", "extension", "extension_removed",
             "regrade", "release")
NEW_KINDS = OLD_KINDS + ("password_changed", "password_reset_issued", "password_reset_used")


def upgrade():
    op.create_table(
        'password_reset',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'],
                                name=op.f('fk_password_reset_created_by_id_user')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_password_reset_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_token_hash')),
    )
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_audit_event_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN {NEW_KINDS!r}")


def downgrade():
    op.execute("DELETE FROM audit_event WHERE kind IN "
               "('password_changed', 'password_reset_issued', 'password_reset_used')")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_audit_event_kind'), type_='check')
        batch_op.create_check_constraint('kind', f"kind IN {OLD_KINDS!r}")
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_user_id'))
    op.drop_table('password_reset')
