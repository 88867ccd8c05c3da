"""dom-gateway: a data-exchange gateway for housing and utilities.

Wire-compatible with the GIS ZhKKh (dom.gosuslugi.ru) asynchronous SOAP API, release 16.3.0.0, for the
operations it supports. See README.md for the architecture and ../DESIGN in the project docs.
"""

__version__ = "0.1.0"
