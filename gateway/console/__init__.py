"""The web console for regulators, support staff and providers, under /console/ beside the SOAP paths.

Role: server-rendered pages (Flask, jinja2, no JavaScript needed) over the compliance reports
(``gateway.reports``), the reconciliation worklist, runs and schedule (``gateway.sync``), the registry's houses and
organisations (as of a date, through ``gateway.registry.queries``) and the message archive.
Data it owns: console accounts and login attempts (``gateway.registry.console``; accounts are made by
``gateway users``). Inputs: HTTP requests with a signed session cookie; every form carries a CSRF token.
Outputs: pages, report downloads in every format; every change (worklist, re-queue, login) goes to the audit
log with the console user and the client address. Who sees what is decided in ``access``; UI text is gettext
(``translations``: Russian by default, English beside it).

``gateway.console.mount.web(gateway)`` is the gateway's whole HTTP surface with the console mounted.
"""
