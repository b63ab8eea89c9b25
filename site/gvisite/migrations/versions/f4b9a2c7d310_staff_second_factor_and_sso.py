"""staff second factor and single sign-on: passkeys, one-time codes, recovery codes, the
provider's subject, and how each session showed its second factor

Revision ID: f4b9a2c7d310
Revises: e3a8c5d1f092
Create Date: 2026-12-06 06:30:00

Sessions open before this migration have shown no second factor: they are ended, so everyone
logs in again once, with one.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f4b9a2c7d310"
down_revision = "e3a8c5d1f092"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_staff_users_oidc_subject", ["oidc_subject"])
    with op.batch_alter_table("staff_sessions") as batch:
        batch.add_column(sa.Column("second_factor", sa.String(length=20), nullable=True))
    op.create_table(
        "staff_passkeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("transports", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id"),
    )
    op.create_index("ix_staff_passkeys_user_id", "staff_passkeys", ["user_id"])
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_recovery_codes_user_id", "staff_recovery_codes", ["user_id"])
    # No session open now has shown a second factor.
    staff_sessions = sa.table(
        "staff_sessions",
        sa.column("ended_at", sa.DateTime()),
        sa.column("ended_reason", sa.String()),
    )
    op.execute(
        staff_sessions.update()
        .where(staff_sessions.c.ended_at.is_(None))
        .values(ended_at=sa.func.current_timestamp(), ended_reason="logout")
    )


def downgrade():
    op.drop_index("ix_staff_recovery_codes_user_id", table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_index("ix_staff_passkeys_user_id", table_name="staff_passkeys")
    op.drop_table("staff_passkeys")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("second_factor")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_constraint("uq_staff_users_oidc_subject", type_="unique")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
        batch.drop_column("oidc_subject")
