"""a published problem's alternative and planned fix

Revision ID: a1c7e5d20b43
Revises: a6c1d8e2f5b4
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c7e5d20b43'
down_revision = 'a6c1d8e2f5b4'  # after how a case was answered (cases.answered_by)
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('published_problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instead', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('fix_by', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('published_problems', schema=None) as batch_op:
        batch_op.drop_column('fix_by')
        batch_op.drop_column('instead')
