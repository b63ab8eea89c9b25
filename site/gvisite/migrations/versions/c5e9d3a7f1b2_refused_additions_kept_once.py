"""a refused addition kept once: its text on a receipt, shown at the status page's address

Revision ID: c5e9d3a7f1b2
Revises: a1c7e5d20b43
Create Date: 2026-12-07 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e9d3a7f1b2'
down_revision = 'a1c7e5d20b43'  # after a published problem's alternative and planned fix
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kept', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_column('kept')
