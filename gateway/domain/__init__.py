"""Domain: the facts of housing and utilities data, free of XML, SQL and HTTP.

Role: value objects that validate themselves (cadastral numbers, FIAS GUIDs, OGRN/INN with check digits),
entities (organisations, houses, premises), the commands the services execute and the per-object results
they return. Owns no data and persists nothing; imports only the standard library and the stdlib-only
``gateway.errors`` code catalogue.
"""
