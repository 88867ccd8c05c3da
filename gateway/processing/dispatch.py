"""The worker's dispatch: one stored message → its operation's processor → a signed getStateResult.

The path of a message reads door (``gateway.soap.app``) → queue (``gateway.messages.queue``) → worker
(``gateway.messages.worker``, handed this processor by ``gateway.bootstrap``) → processing → services →
registry, never climbing back into the door.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from lxml import etree

from gateway import metrics, ns
from gateway.domain.powers import processing_refusal
from gateway.messages.queue import StoredMessage
from gateway.ns import q
from gateway.processing.operations import PROCESSORS, count_on_commit
from gateway.registry.unit_of_work import UnitOfWork
from gateway.signing import Signer
from gateway.soap import results_xml
from gateway.soap.operations import DEVICE_METERING, OPERATIONS


class MessageProcessor:
    """The worker's handler: run the message's operation, sign its getStateResult, return it serialised.

    The signed result is stored beside the signed request (DESIGN §4: the audit trail of who sent what
    and what the registry answered).
    """

    def __init__(self, signer: Signer | None) -> None:
        self.signer = signer

    def __call__(self, uow: UnitOfWork, message: StoredMessage, now: datetime) -> bytes:
        operation = OPERATIONS[message.operation]
        sender = uow.organisations.get(message.org_guid)
        if sender is None:  # the organisation existed at acceptance; organisations are never deleted
            raise LookupError(f"organisation {message.org_guid} of message {message.guid} is gone")
        root: etree._Element | None = None
        if message.power_guid is not None:  # signed by another organisation under a delegated power
            power = uow.powers.get(message.power_guid)
            if power is None:  # powers are never deleted
                raise LookupError(f"power {message.power_guid} of message {message.guid} is gone")
            if (refused := processing_refusal(power, message.operation)) is not None:
                root = results_xml.state_result(operation.endpoint.types_ns, operation.endpoint.state_result_version,
                                                message.guid, 3)
                results_xml.append_error_message(root, refused.code, refused.text)
            sender = replace(sender, acting_under=power)
        if root is None:
            root = PROCESSORS[operation.name](uow, sender, message, now, operation.endpoint)
        per_object = "ImportResult" if operation.endpoint is DEVICE_METERING else "CommonResult"
        counted = Counter("error" if common.find(q(ns.BASE, "Error")) is not None else "ok"
                          for common in root.iter(q(operation.endpoint.types_ns, per_object)))
        count_on_commit(uow, metrics.OBJECTS, {(operation.name, result): n for result, n in counted.items()})
        if self.signer is not None:
            self.signer.sign(root)
        return bytes(etree.tostring(root, encoding="UTF-8"))
