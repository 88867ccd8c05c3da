"""Client SDK for information providers: build, sign, send and poll GIS ZhKKh requests.

Role: what a management company's IT system embeds to talk to dom-gateway (or the official GIS ZhKKh).
Built on zeep (requests transport) with the gateway's XAdES signer; it never imports the server's
database code, so it installs and runs on a provider's machine alone.
"""

from providers.client import GisClient, ImportOutcome

__all__ = ["GisClient", "ImportOutcome"]
