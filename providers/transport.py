"""HTTP for the toolkit: requests with connect/read timeouts, urllib3 retries with back-off, TLS client certificates.

What is retried, and why it is safe: a connection that could not be made or broke, a read that timed out,
and HTTP 502/503/504 (a balancer or proxy in front of the gateway). urllib3 resends the **same body bytes**
— the same signed request under the same MessageGUID — and the gateway is idempotent on exactly that: the
same MessageGUID with the same signed content returns the original Ack and stores nothing (README
"Errors"). HTTP 500 is not retried: it is how SOAP 1.1 carries a fault, the gateway's considered refusal.
Never does this layer re-sign or pick a new MessageGUID: a replay of signed content under another
MessageGUID is refused by the gateway, and would be a second message if it were not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from providers.errors import ProviderError

RETRIED_STATUSES = (502, 503, 504)


class Unreachable(ProviderError):
    """The gateway could not be reached (after the configured retries)."""


@dataclass(frozen=True)
class TransportSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retries: int = 5
    backoff: float = 1.0  # urllib3: sleeps backoff * 2**(n-1) between tries
    backoff_max: float = 60.0
    verify: bool | Path = True  # TLS server verification: True (system CAs) or a CA bundle file
    client_cert: Path | None = None  # TLS client certificate (PEM), with client_key or containing it
    client_key: Path | None = None


class Transport:
    """One requests.Session; ``post`` returns (HTTP status, body bytes) or raises ``Unreachable``."""

    def __init__(self, settings: TransportSettings | None = None, *, session: requests.Session | None = None) -> None:
        self.settings = settings or TransportSettings()
        self.session = session or requests.Session()
        retry = Retry(total=self.settings.retries, connect=self.settings.retries, read=self.settings.retries,
                      status=self.settings.retries, other=0, backoff_factor=self.settings.backoff,
                      backoff_max=self.settings.backoff_max, status_forcelist=RETRIED_STATUSES,
                      allowed_methods=frozenset({"GET", "POST"}), raise_on_status=False,
                      respect_retry_after_header=True)
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.verify = str(self.settings.verify) if isinstance(self.settings.verify, Path) \
            else self.settings.verify
        if self.settings.client_cert is not None:
            self.session.cert = (str(self.settings.client_cert), str(self.settings.client_key)) \
                if self.settings.client_key is not None else str(self.settings.client_cert)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.settings.connect_timeout, self.settings.read_timeout)

    def post(self, url: str, body: bytes, *, action: str) -> tuple[int, bytes]:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
        try:
            # a CA file goes with each request: requests lets REQUESTS_CA_BUNDLE override the session's own
            response = self.session.post(url, data=body, headers=headers, timeout=self.timeout,
                                         verify=self.session.verify)
        except requests.exceptions.SSLError as exc:
            raise Unreachable(f"{url}: TLS failed: {exc}") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise Unreachable(f"{url}: {type(exc).__name__} after {self.settings.retries} retries: {exc}") from None
        return response.status_code, response.content

    def close(self) -> None:
        self.session.close()
