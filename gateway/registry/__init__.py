"""Registry: the one versioned store of everything providers post, and the message queue beside it.

Role: SQLAlchemy 2 tables (``tables``), engine set-up for SQLite and PostgreSQL (``db``), repositories
and the unit of work (``unit_of_work``), alembic migrations (``migrations/``).
Owns: organisations and their certificates, houses, premises, object versions, messages.
Persists: every create/update is captured as a version in the history tables (``versions``: when the registry
learnt it, from which message, reconciliation run or operator);
nothing is deleted.
"""
