"""The application's routes, called as WSGI: what each method on each kind of path gets (the same answers the
chain of ifs gave), and a mounted application taking every method under its prefix."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from gateway import bootstrap

HM = "/ext-bus-home-management-service/services/HomeManagementAsync"
XSD = "/ext-bus-home-management-service/services/hcs-house-management-types.xsd"


def call(app: Any, method: str, path: str, query: str = "") -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                               "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


@pytest.mark.parametrize(("method", "path", "query", "status"), [
    ("GET", HM, "wsdl", 200),
    ("GET", HM, "WSDL", 200),
    ("GET", HM, "", 405),
    ("PUT", HM, "", 405),
    ("HEAD", HM, "", 405),
    ("POST", HM, "", 415),  # the SOAP door itself: no Content-Type
    ("GET", XSD, "", 200),
    ("GET", "/ext-bus-home-management-service/lib/hcs-base.xsd", "", 200),
    ("GET", "/ext-bus-home-management-service/services/no-such.xsd", "", 404),
    ("GET", "/ext-bus-home-management-service/services/../../setup.cfg", "", 404),
    ("POST", XSD, "", 404),
    ("GET", "/health", "", 200),
    ("POST", "/health", "", 404),
    ("GET", "/metrics", "", 200),
    ("GET", "/", "", 404),
    ("GET", "/console/", "", 404),
])
def test_each_path_and_method_gets_what_it_always_got(gateway: bootstrap.Gateway, method: str, path: str,
                                                      query: str, status: int) -> None:
    answered, headers, _body = call(gateway.app, method, path, query)
    assert answered == status
    if status == 405:
        assert headers["Allow"] == "GET, POST" and headers["Content-Type"].startswith("text/xml")


def test_a_mounted_application_takes_every_method_under_its_prefix(gateway: bootstrap.Gateway) -> None:
    def console(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()]

    app = gateway.app
    app.router.mount("/console/", console)
    assert call(app, "POST", "/console/login")[::2] == (200, b"POST /console/login")
    assert call(app, "GET", HM, "wsdl")[0] == 200 and call(app, "GET", "/consolex")[0] == 404


def test_with_the_database_down_metrics_still_answer_and_refusals_still_fault() -> None:
    from gateway.config import Config, DatabaseConfig

    down = bootstrap.build(Config(database=DatabaseConfig(url="postgresql+psycopg://gateway@127.0.0.1:1/gateway")),
                           answers=False)
    try:
        status, _headers, body = call(down.app, "GET", "/metrics")
        assert status == 200 and b"gateway_database_up 0.0" in body and b"gateway_requests_total" in body
        assert call(down.app, "GET", "/health")[0] == 503
        assert call(down.app, "POST", HM)[0] == 415  # refused at the door; the refusal's record is what is lost
    finally:
        down.engine.dispose()
