"""LTI 1.3 tool: platform registrations, LMS identities and AGS grade links (issue 16 section 1).

Revision ID: d7a3b2c9e014
Revises: c4d8e2f71a30
Create Date: 2026-12-02 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a3b2c9e014'
down_revision = 'c4d8e2f71a30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lti_registration',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=False),
        sa.Column('client_id', sa.String(length=500), nullable=False),
        sa.Column('deployment_ids', sa.JSON(), nullable=False),
        sa.Column('auth_login_url', sa.String(length=1000), nullable=False),
        sa.Column('auth_token_url', sa.String(length=1000), nullable=False),
        sa.Column('key_set_url', sa.String(length=1000), nullable=True),
        sa.Column('key_set', sa.JSON(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'],
                                name=op.f('fk_lti_registration_created_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_registration')),
        sa.UniqueConstraint('issuer', 'client_id', name='uq_lti_registration'),
    )
    op.create_table(
        'lti_identity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('sub', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['registration_id'], ['lti_registration.id'],
                                name=op.f('fk_lti_identity_registration_id_lti_registration')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_lti_identity_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_identity')),
        sa.UniqueConstraint('registration_id', 'sub', name='uq_lti_identity'),
    )
    with op.batch_alter_table('lti_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_identity_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_identity_user_id'), ['user_id'], unique=False)
    op.create_table(
        'lti_grade_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('sub', sa.String(length=255), nullable=False),
        sa.Column('lineitem_url', sa.String(length=1000), nullable=True),
        sa.Column('lineitems_url', sa.String(length=1000), nullable=True),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('sent_score', sa.Float(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'],
                                name=op.f('fk_lti_grade_link_assignment_id_assignment')),
        sa.ForeignKeyConstraint(['registration_id'], ['lti_registration.id'],
                                name=op.f('fk_lti_grade_link_registration_id_lti_registration')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_lti_grade_link_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_grade_link')),
        sa.UniqueConstraint('user_id', 'assignment_id', name='uq_lti_grade_link'),
    )
    with op.batch_alter_table('lti_grade_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_grade_link_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_grade_link_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('lti_grade_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_grade_link_user_id'))
        batch_op.drop_index(batch_op.f('ix_lti_grade_link_assignment_id'))
    op.drop_table('lti_grade_link')
    with op.batch_alter_table('lti_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_identity_user_id'))
        batch_op.drop_index(batch_op.f('ix_lti_identity_registration_id'))
    op.drop_table('lti_identity')
    op.drop_table('lti_registration')
