"""One error tree for the whole gateway.

Every error carries a stable ``code`` (documented in the README's error table), a message that names the
offending object, and knows how it surfaces: as a SOAP fault (refused at the door, nothing stored) or as a
per-object ``Error`` inside a ``CommonResult`` (refused by processing, the rest of the batch goes on).

Codes follow the GIS ZhKKh shape so client software that classifies by prefix keeps working:
``INT`` = refused by the integration layer before acceptance, ``SRV`` = refused by the service while
processing. ``SYN`` (dom-gateway's own, no GIS counterpart) = a reference-registry source read by
reconciliation (``gateway.sync``): it fails or marks a reconciliation run partial, never a provider's
message. ``OPS`` (dom-gateway's own) = the ``gateway`` command and its configuration: never on the wire.
``CON`` (also dom-gateway's own) = the web console and its accounts: a page with an HTTP status or a CLI
line, never a SOAP answer. The numbers are dom-gateway's own catalogue, not the official one.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    # Transport and envelope (SOAP fault, HTTP 4xx/5xx, nothing stored)
    BODY_TOO_LARGE = "INT001001"
    XML_MALFORMED = "INT001002"
    XML_FORBIDDEN_CONSTRUCT = "INT001003"
    NOT_SOAP_ENVELOPE = "INT001004"
    UNKNOWN_OPERATION = "INT001005"
    HEADER_INVALID = "INT001006"
    SCHEMA_INVALID = "INT001007"
    VERSION_UNSUPPORTED = "INT001008"
    METHOD_NOT_ALLOWED = "INT001010"
    MEDIA_TYPE_UNSUPPORTED = "INT001011"
    SOAPACTION_MISSING = "INT001012"
    HTTP_FRAMING_INVALID = "INT001013"
    BODY_LENGTH_MISMATCH = "INT001014"
    REQUEST_TIMEOUT = "INT001015"
    ENCODING_UNSUPPORTED = "INT001016"
    SERVER_BUSY = "INT001017"
    # Trust (SOAP fault, nothing stored)
    SIGNATURE_MISSING = "INT002001"
    SIGNATURE_INVALID = "INT002002"
    SIGNATURE_SCOPE = "INT002003"
    CERTIFICATE_UNKNOWN = "INT002004"
    CERTIFICATE_NOT_VALID_NOW = "INT002005"
    CERTIFICATE_REVOKED = "INT002006"
    CERTIFICATE_ORG_MISMATCH = "INT002007"
    ALGORITHM_UNSUPPORTED = "INT002008"
    ORGANISATION_UNKNOWN = "INT002009"
    SIGNATURE_REPLAYED = "INT002010"
    # Operator signatures under delegated powers (IsOperatorSignature; gateway.domain.powers)
    POWER_NONE = "INT002011"
    POWER_NOT_ACCEPTED = "INT002012"
    POWER_RECALLED = "INT002013"
    POWER_RENOUNCED = "INT002014"
    POWER_EXPIRED = "INT002015"
    POWER_NOT_YET_VALID = "INT002016"
    POWER_FUNCTION_NOT_COVERED = "INT002017"
    POWER_REDELEGATED = "INT002018"
    OPERATION_ROLE_DENIED = "INT002021"  # the operation is answered only for some roles (regulators, operators)
    # Asynchronous state
    MESSAGE_NOT_FOUND = "INT003001"
    MESSAGE_REUSED = "INT003002"
    # Processing, per object (CommonResult/Error) or whole message (ErrorMessage)
    CADASTRAL_NUMBER_INVALID = "SRV001001"
    VALUE_INVALID = "SRV001002"
    HOUSE_ALREADY_REGISTERED = "SRV001003"
    HOUSE_NOT_FOUND = "SRV001004"
    PREMISES_DUPLICATE = "SRV001005"
    NOT_SUPPORTED = "SRV001006"
    PARENT_REJECTED = "SRV001007"
    PREMISES_NOT_FOUND = "SRV001008"
    ACCOUNT_NOT_FOUND = "SRV001009"
    NSI_UNKNOWN = "SRV001010"
    PREMISES_RENUMBER_BLOCKED = "SRV001011"
    ACCOUNT_NUMBER_TAKEN = "SRV001012"
    DATE_IMPLAUSIBLE = "SRV001013"
    AUTHORITY_DENIED = "SRV002001"
    NO_MANDATE = "SRV002002"
    MANDATE_CONFLICT = "SRV002003"
    CONTRACT_NOT_FOUND = "SRV002004"
    POWER_DATE_NOT_COVERED = "SRV002005"
    POWER_RECALLED_SINCE_ACCEPTANCE = "SRV002006"
    POWER_RENOUNCED_SINCE_ACCEPTANCE = "SRV002007"
    DEVICE_NOT_FOUND = "SRV003001"
    DEVICE_ARCHIVED = "SRV003002"
    READING_BELOW_PREVIOUS = "SRV003003"
    READING_FUTURE_DATE = "SRV003004"
    READING_RESOURCE_MISMATCH = "SRV003005"
    DEVICE_DUPLICATE = "SRV003006"
    READING_BEFORE_COMMISSIONING = "SRV003007"
    PROTOCOL_NOT_FOUND = "SRV004001"
    VOTES_EXCEED_TOTAL = "SRV004002"
    VOTING_TAKEN = "SRV004003"
    VOTING_PERIOD_INVALID = "SRV004004"
    # Granting and ending powers (``gateway powers``): refused, nothing changed
    POWER_PARTIES_INVALID = "SRV005001"
    POWER_CONFLICT = "SRV005002"
    POWER_REDELEGATION = "SRV005003"
    POWER_TRANSITION_INVALID = "SRV005004"
    POWER_NOT_FOUND = "SRV005005"
    # Administrative offences (rap) and compliance reports for regulators
    OUTSIDE_JURISDICTION = "SRV006001"
    DECREE_NOT_FOUND = "SRV006002"
    DECREE_OFFENDER_UNKNOWN = "SRV006003"
    DECREE_ENDED = "SRV006004"
    REPORT_REQUEST_INVALID = "SRV006005"
    INTERNAL = "SRV999999"
    # Reference-registry sources of reconciliation (gateway.sync.sources): the run fails or is partial
    SOURCE_MALFORMED = "SYN001001"
    SOURCE_UNKNOWN_FILE = "SYN001002"
    SOURCE_RECORD_INVALID = "SYN001003"
    SOURCE_UNREACHABLE = "SYN001004"
    SOURCE_FORBIDDEN_CONSTRUCT = "SYN001005"
    SOURCE_UNREADABLE = "SYN001006"
    SOURCE_SCHEMA_INVALID = "SYN001007"
    SOURCE_TOO_LARGE = "SYN001008"
    SOURCE_ARCHIVE_INVALID = "SYN001009"
    # The command line (``gateway …``): one line on stderr, an exit code by kind (README "Operations")
    CONFIG_INVALID = "OPS001001"
    DATABASE_URL_INVALID = "OPS001002"
    DATABASE_UNREACHABLE = "OPS001003"
    DATABASE_NOT_UPGRADED = "OPS001004"
    USAGE_INVALID = "OPS001005"
    COMMAND_REFUSED = "OPS001006"
    NOTHING_TO_DO = "OPS001007"
    ALREADY_REGISTERED = "OPS001008"
    COMMAND_FAILED = "OPS001009"
    # The web console (gateway.console) and its accounts (``gateway users``): a page or a CLI line, nothing changed
    CONSOLE_LOGIN_FAILED = "CON001001"
    CONSOLE_LOGIN_THROTTLED = "CON001002"
    CONSOLE_SESSION_EXPIRED = "CON001003"
    CONSOLE_FORM_FORGED = "CON001004"
    CONSOLE_FORBIDDEN = "CON001005"
    CONSOLE_NOT_FOUND = "CON001006"
    CONSOLE_FILTER_INVALID = "CON001007"
    CONSOLE_USER_INVALID = "CON001008"
    CONSOLE_SECRET_MISSING = "CON001009"  # noqa: S105 - an error code, not a secret
    CONSOLE_ACTION_REFUSED = "CON001010"


class Exit:
    """The ``gateway`` command's exit codes, by kind of failure (README "Operations")."""

    OK = 0
    REFUSED = 1  # the command ran and refused: not found, nothing to do, already registered, a broken archive
    USAGE = 2  # an option or argument is wrong (click's own usage errors keep their 2)
    CONFIG = 3  # the configuration cannot be loaded or is invalid
    DATABASE_UNREACHABLE = 4
    DATABASE_NOT_UPGRADED = 5  # the database holds no gateway schema, or an older one: `gateway db upgrade`
    INTERNAL = 70  # a bug (EX_SOFTWARE): one line, the traceback with --debug


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""

    code: Code = Code.INTERNAL
    http_status: int = 500
    #: the ``gateway`` command's exit code when this error ends it
    exit_code: int = Exit.REFUSED
    #: SOAP 1.1 faultcode local name: ``Client`` for the sender's fault, ``Server`` for ours.
    fault_actor: str = "Client"

    def __init__(self, message: str, *, code: Code | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class RequestRefused(GatewayError):
    """The request is refused at the door with a SOAP fault; nothing is stored."""

    http_status = 500


class BodyTooLarge(RequestRefused):
    code = Code.BODY_TOO_LARGE
    http_status = 413


class FramingRefused(RequestRefused):
    """The HTTP message itself is unusable (length, coding, request line, timing): HTTP 4xx, SOAP 1.1 Fault body.

    WS-I Basic Profile 1.1 R1113/R1125: a malformed HTTP request is answered with a 4xx status, not the
    500 that SOAP 1.1 §6.2 reserves for faults in processing the envelope.
    """

    code = Code.HTTP_FRAMING_INVALID
    http_status = 400

    def __init__(self, message: str, *, code: Code | None = None, http_status: int | None = None) -> None:
        super().__init__(message, code=code)
        if http_status is not None:
            self.http_status = http_status


class MalformedXml(RequestRefused):
    code = Code.XML_MALFORMED


class ForbiddenXml(RequestRefused):
    code = Code.XML_FORBIDDEN_CONSTRUCT


class SchemaInvalid(RequestRefused):
    code = Code.SCHEMA_INVALID


class TrustRefused(RequestRefused):
    """Signature or certificate checks failed."""

    code = Code.SIGNATURE_INVALID


class MessageNotFound(RequestRefused):
    code = Code.MESSAGE_NOT_FOUND


class ObjectRejected(GatewayError):
    """One object of a batch is refused; reported in its CommonResult, the batch goes on."""

    def __init__(self, message: str, *, code: Code) -> None:
        super().__init__(message, code=code)


class Conflict(GatewayError):
    """A write collided with what another transaction stored first (a unique key); the object is refused."""

    fault_actor = "Server"


class PowerRefused(GatewayError):
    """Granting, accepting, recalling or renouncing a delegated power is refused; nothing changed."""


class ConfigError(GatewayError):
    """Configuration cannot be loaded; the process must not start."""

    code = Code.CONFIG_INVALID
    fault_actor = "Server"
    exit_code = Exit.CONFIG


class DatabaseUnavailable(GatewayError):
    """The configured database cannot be reached, or holds no (or an older) gateway schema."""

    code = Code.DATABASE_UNREACHABLE
    fault_actor = "Server"
    exit_code = Exit.DATABASE_UNREACHABLE

    def __init__(self, message: str, *, code: Code | None = None, exit_code: int | None = None) -> None:
        super().__init__(message, code=code)
        if exit_code is not None:
            self.exit_code = exit_code


class CommandRefused(GatewayError):
    """An administrative command refuses what it was asked (the message says why and what to do instead)."""

    code = Code.COMMAND_REFUSED

    def __init__(self, message: str, *, code: Code | None = None, exit_code: int | None = None) -> None:
        super().__init__(message, code=code)
        if exit_code is not None:
            self.exit_code = exit_code


class ConsoleRefused(GatewayError):
    """A console request or account command refused as asked: the page (or CLI line) shows the code."""

    http_status = 400

    def __init__(self, message: str, *, code: Code, http_status: int | None = None) -> None:
        super().__init__(message, code=code)
        if http_status is not None:
            self.http_status = http_status
