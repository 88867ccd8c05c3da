"""Messages: the archive of accepted requests, idempotency, the queue and the worker loop.

Role: store each accepted request byte-exact with the digest of the signed element it carries; make a resent
MessageGUID from the same organisation return the original ack; hand messages to workers under a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one in-process worker on SQLite); record each message's
result in the same transaction as its registry writes, so a redelivered message cannot write twice.
Persists: the ``messages`` table. The operation handlers are injected (``gateway.bootstrap``), so this
package never sees XML.
"""
