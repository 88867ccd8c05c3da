"""dom-gateway: a data-exchange gateway for housing and utilities.

Wire-compatible with the GIS ZhKKh (dom.gosuslugi.ru) asynchronous SOAP API, release 16.3.0.0, for the
operations it supports. README.md says how to run and operate it; docs/architecture.md how it is built.
"""

__version__ = "0.1.0"
