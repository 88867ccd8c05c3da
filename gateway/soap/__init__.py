"""SOAP: the wire face of the gateway, speaking the official GIS ZhKKh async API (release 16.3.0.0).

Role: WSGI application (``app``) at the official paths, serving the official WSDL/XSD with the gateway's
own address; envelope parsing and faults (``envelope``); the operation table (``operations``); mapping
between official XML and domain commands/results (``houses_xml``, ``results_xml``). Decides no business
rule: it checks the door (size, XML safety, header, schema, version, signature, certificate binding),
stores the message and acknowledges; workers do the rest.
"""
