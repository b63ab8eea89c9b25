"""how a case was first answered; a published problem's alternative and planned fix

Revision ID: a1c7e5d20b43
Revises: f4b9a2c7d310
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c7e5d20b43'
down_revision = 'f4b9a2c7d310'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_answer_by', sa.String(length=10), nullable=True))
    with op.batch_alter_table('published_problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instead', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('fix_by', sa.Date(), nullable=True))
    # A case answered by e-mail before this column existed was answered by e-mail.
    op.execute("UPDATE cases SET first_answer_by = 'email' WHERE first_reply_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('published_problems', schema=None) as batch_op:
        batch_op.drop_column('fix_by')
        batch_op.drop_column('instead')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('first_answer_by')
