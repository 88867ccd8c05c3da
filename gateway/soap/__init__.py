"""SOAP: the wire face of the gateway, speaking the official GIS ZhKKh async API (release 16.3.0.0).

Role: the HTTP/1.1 front that reads each request whole under deadlines (``front``; hosted by gunicorn in
``serving``, in a thread in ``server``); WSGI application (``app``) at the official paths, serving the
official WSDL/XSD with the gateway's own address; the SOAP 1.1 HTTP binding's checks (``binding``);
envelope parsing and faults (``envelope``); the operation table (``operations``); mapping
between official XML and domain commands/results (``houses_xml``, ``results_xml``). Decides no business
rule: it checks the door (size, XML safety, header, schema, version, signature, certificate binding),
stores the message and acknowledges; workers do the rest.
"""
