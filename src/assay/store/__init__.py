"""Persistence: SQLAlchemy tables, Alembic migrations, the content-addressed blob store."""
