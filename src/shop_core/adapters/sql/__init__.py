"""SQLAlchemy (async) adapters for SQLite and PostgreSQL."""
