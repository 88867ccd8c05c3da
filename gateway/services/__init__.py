"""Services: one function per GIS ZhKKh operation, the use cases of the registry.

Role: take a domain command and a unit of work, apply the domain rules (authority, uniqueness, formats)
object by object, write through the repositories and return one ``ObjectResult`` per TransportGUID.
Owns no data of its own; never sees XML or HTTP.
"""
