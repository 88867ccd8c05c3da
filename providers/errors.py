"""The root of every error the providers' toolkit raises on purpose.

Separate from ``gateway.errors.GatewayError`` on purpose: these are failures on a provider's machine (the
gateway unreachable, an answer not trusted, a bad row, a bad provider.toml) with none of the server's
semantics (HTTP status, fault actor, the gateway's catalogue); the gateway's codes they carry are data
(``GatewayFault.code``).
"""


class ProviderError(Exception):
    """Root of the toolkit's errors: catch it to handle every failure the toolkit names."""
