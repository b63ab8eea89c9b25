"""resident additions once: a submission key on case events

Revision ID: b7d2e4f6a810
Revises: 9c3f1d2e7b40
Create Date: 2026-12-02 00:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e4f6a810'
down_revision = '9c3f1d2e7b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_case_events_submission_hash'), ['submission_hash'])


def downgrade():
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_case_events_submission_hash'), type_='unique')
        batch_op.drop_column('submission_hash')
