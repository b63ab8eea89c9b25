"""how a case was answered: e-mail, phone or letter, beside first_reply_at

Revision ID: a6c1d8e2f5b4
Revises: f4b9a2c7d310
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6c1d8e2f5b4'
down_revision = 'f4b9a2c7d310'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answered_by', sa.String(length=10), nullable=True))
    # Until now only a reply by e-mail set first_reply_at.
    op.execute("UPDATE cases SET answered_by = 'email' WHERE first_reply_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('answered_by')
