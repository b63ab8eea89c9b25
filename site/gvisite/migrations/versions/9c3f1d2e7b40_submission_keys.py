"""submission keys: one case per submission

Revision ID: 9c3f1d2e7b40
Revises: 7a7e11a175e5
Create Date: 2026-12-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c3f1d2e7b40'
down_revision = '7a7e11a175e5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_cases_submission_hash'), ['submission_hash'])


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_cases_submission_hash'), type_='unique')
        batch_op.drop_column('submission_hash')
