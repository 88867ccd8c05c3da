"""Every error the gateway raises on purpose descends from GatewayError (a stable code, an exit code, how it
surfaces); every error of the providers' toolkit from ProviderError — a root of its own, since it runs on a
provider's machine without the server's semantics."""

from __future__ import annotations

import pytest

from gateway.domain.values import Guid, InvalidValue
from gateway.errors import Code, Exit, GatewayError
from gateway.messages.queue import LeaseLost
from gateway.signing.crl import CrlRefused
from providers.builders import RequestInvalid
from providers.client import MessageFailed, PollTimeout
from providers.codes import RowError
from providers.config import ConfigInvalid
from providers.errors import ProviderError
from providers.push import Stop
from providers.transport import Unreachable
from providers.wire import AnswerNotTrusted, BadAnswer, GatewayFault


@pytest.mark.parametrize("error", [InvalidValue, LeaseLost, CrlRefused])
def test_gateway_errors_share_the_root(error: type[Exception]) -> None:
    assert issubclass(error, GatewayError)


@pytest.mark.parametrize("error", [GatewayFault, AnswerNotTrusted, BadAnswer, PollTimeout, MessageFailed, Unreachable,
                                   ConfigInvalid, RowError, RequestInvalid, Stop])
def test_provider_errors_share_their_own_root(error: type[Exception]) -> None:
    assert issubclass(error, ProviderError) and not issubclass(error, GatewayError)


def test_an_invalid_value_keeps_its_text_code_and_value_error_nature() -> None:
    with pytest.raises(ValueError, match="^GUID 'x' is not a GUID$") as raised:
        Guid("x")
    assert raised.value.code == Code.VALUE_INVALID and raised.value.exit_code == Exit.USAGE
    assert str(raised.value) == raised.value.message
