"""Registry: the one versioned store of everything providers post, and the message queue beside it.

Role: SQLAlchemy 2 tables (``tables``), engine set-up for SQLite and PostgreSQL (``db``), repositories
and the unit of work (``unit_of_work``), alembic migrations (``migrations/``).
Owns: organisations and their certificates, houses, premises, object versions, messages.
Persists: every create/update is a new row in ``object_versions`` (who, when, from which message);
nothing is deleted.
"""
