"""Client SDK and command-line toolkit for information providers: build, sign, send, poll, report.

Role: what a management company's IT system embeds (``providers.client.ProviderClient``: typed helpers for
every supported operation) and what its IT person runs (``gateway-provider push KIND FILE``: a billing
program's CSV/XLSX export → validated, batched, signed requests → per-row results and a rejects file).
Data it owns: the push journal, a SQLite file beside the input (``providers.journal``). Inputs: records or
CSV/XLSX files, a key and certificate, ``provider.toml``. Outputs: signed SOAP requests, results, rejects.

It uses only the gateway's public, database-free APIs (``gateway.signing``, ``gateway.xsd``,
``gateway.xmlparse``, ``gateway.errors``) and never imports the server's database code
(``gateway.registry``, ``gateway.messages``, ``gateway.services``, sqlalchemy), so it installs and runs on a
provider's machine alone (``tests/unit/test_provider_isolation.py`` proves it).
"""

from providers.client import GisClient, ImportOutcome, ProviderClient

__all__ = ["GisClient", "ImportOutcome", "ProviderClient"]
