"""Value objects: each validates itself at construction so an invalid value cannot travel inward."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from gateway.errors import Code, Exit, GatewayError


class InvalidValue(GatewayError, ValueError):
    """A value failed its own validation; ``code`` says which rule. A ``ValueError`` too, and its text is the
    message alone (it is the Description of a per-object Error)."""

    exit_code = Exit.USAGE

    def __init__(self, message: str, *, code: Code = Code.VALUE_INVALID) -> None:
        super().__init__(message, code=code)

    def __str__(self) -> str:
        return self.message


_CADASTRAL = re.compile(r"(\d{2}):(\d{2}):(\d{6,7}):(\d{1,10})", re.ASCII)  # ASCII: \d would take "７"


@dataclass(frozen=True, slots=True)
class CadastralNumber:
    """A cadastral number of the Unified State Register of Real Estate (EGRN).

    Format ``RR:DD:QQQQQQQ:N``: cadastral district (2 digits, not 00), area (2 digits), quarter (6 or 7
    digits) and the object's number within the quarter (1-10 digits, not zero). The official schema only
    bounds its length (1-255), so the format is checked here.
    """

    value: str

    def __post_init__(self) -> None:
        text = self.value.strip() if isinstance(self.value, str) else ""
        match = _CADASTRAL.fullmatch(text)
        if match is None:
            raise InvalidValue(
                f"cadastral number {self.value!r} is not of the form RR:DD:QQQQQQQ:N",
                code=Code.CADASTRAL_NUMBER_INVALID,
            )
        district, _area, _quarter, number = match.groups()
        if district == "00" or int(number) == 0:
            raise InvalidValue(
                f"cadastral number {self.value!r} has a zero district or object number",
                code=Code.CADASTRAL_NUMBER_INVALID,
            )
        object.__setattr__(self, "value", text)

    def __str__(self) -> str:
        return self.value


#: base:GUIDType: 8-4-4-4-12 hex digits, any case (a regular expression: the registry reads thousands of
#: GUIDs per message, and parsing each into a UUID object cost more than the rest of reading it)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _guid(value: str, what: str) -> str:
    if not isinstance(value, str) or _GUID.fullmatch(value) is None:
        if isinstance(value, str):
            try:
                uuid.UUID(value)
            except ValueError:
                pass
            else:
                raise InvalidValue(f"{what} {value!r} is not in the 8-4-4-4-12 form")
        raise InvalidValue(f"{what} {value!r} is not a GUID")
    return value.lower()


@dataclass(frozen=True, slots=True)
class Guid:
    """A GUID in the GIS ZhKKh form (8-4-4-4-12 hex, any case on input, lower case inside)."""

    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _guid(self.value, "GUID"))

    @classmethod
    def new(cls) -> Guid:
        return cls.stored(str(uuid.uuid4()))

    @classmethod
    def ordered(cls) -> Guid:
        """A new time-ordered GUID (UUID version 7, RFC 9562 §5.7: 48 bits of Unix milliseconds, then 74
        random bits), for keys of rows the registry writes by the million: a reading's GUID (consecutive
        inserts land on the same few pages of the unique index instead of a random page each) and a device's
        root GUID (the month-end indexes lead with it: the meters of a house, registered together, are
        neighbours there). Not for what must not reveal when it was made (MessageGUIDs stay version 4)."""
        value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
        value = value & ~(0xF << 76) | 0x7 << 76  # version 7
        value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
        return cls.stored(str(uuid.UUID(int=value)))

    @classmethod
    def stored(cls, value: str) -> Guid:
        """A GUID the registry itself wrote (validated then, lower case): read back without re-checking."""
        guid = object.__new__(cls)
        object.__setattr__(guid, "value", value)
        return guid

    @classmethod
    def as_sent(cls, value: str) -> Guid:
        """A sender's correlation token (TransportGUID), validated but kept exactly as sent: the answer must
        echo it byte for byte, since clients match results to their objects by the string they sent."""
        _guid(value, "GUID")
        return cls.stored(value.strip())

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class FiasHouseGuid:
    """A house's GUID in the Federal Information Address System (FIAS / GAR)."""

    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _guid(self.value, "FIAS house GUID"))

    @classmethod
    def stored(cls, value: str) -> FiasHouseGuid:
        """A FIAS GUID the registry itself wrote (validated then): read back without re-checking."""
        guid = object.__new__(cls)
        object.__setattr__(guid, "value", value)
        return guid

    def __str__(self) -> str:
        return self.value


def _digits(value: str, lengths: tuple[int, ...], what: str) -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) not in lengths:
        raise InvalidValue(f"{what} {value!r} must be {' or '.join(map(str, lengths))} digits")
    return value


@dataclass(frozen=True, slots=True)
class Ogrn:
    """Primary state registration number: 13 digits (legal entity) or 15 (OGRNIP), with its check digit."""

    value: str

    def __post_init__(self) -> None:
        text = _digits(self.value, (13, 15), "OGRN")
        modulus = 11 if len(text) == 13 else 13
        if int(text[:-1]) % modulus % 10 != int(text[-1]):
            raise InvalidValue(f"OGRN {text!r} fails its check digit")

    def __str__(self) -> str:
        return self.value


_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_A = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_B = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _inn_check(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


@dataclass(frozen=True, slots=True)
class Inn:
    """Taxpayer number: 10 digits (organisation) or 12 (individual), with check digits."""

    value: str

    def __post_init__(self) -> None:
        text = _digits(self.value, (10, 12), "INN")
        if len(text) == 10:
            ok = _inn_check(text, _INN10) == int(text[9])
        else:
            ok = _inn_check(text, _INN12_A) == int(text[10]) and _inn_check(text, _INN12_B) == int(text[11])
        if not ok:
            raise InvalidValue(f"INN {text!r} fails its check digits")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Kpp:
    """Tax registration reason code: 9 characters (4 digits, 2 digits or letters, 3 digits)."""

    value: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{4}[\dA-Z]{2}\d{3}", self.value or "", re.ASCII):
            raise InvalidValue(f"KPP {self.value!r} is not 9 characters of the form NNNNPPNNN")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Oktmo:
    """All-Russian territory code of a municipality: 8 or 11 digits."""

    value: str

    def __post_init__(self) -> None:
        _digits(self.value, (8, 11), "OKTMO")

    def __str__(self) -> str:
        return self.value


def area(value: str | Decimal, what: str) -> Decimal:
    """An area in square metres: non-negative, at most 4 decimal places (premises-base PremisesAreaType)."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise InvalidValue(f"{what} {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise InvalidValue(f"{what} {value!r} must be a non-negative number")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise InvalidValue(f"{what} {value!r} has more than 4 decimal places")
    return number


#: The window of dates the registry reasons with (commissioning, verification, contracts, readings, meetings).
#: Wide enough for any real house, device or document; it keeps arithmetic on dates (a verification due N
#: years after a seal, a deadline N working days after an event) inside what a calendar can hold, so a
#: value such as 9999-12-31 or 0001-01-01 is refused with a coded error instead of breaking a rule.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def plausible(value: date, what: str) -> date:
    """``value`` if it lies in [EARLIEST_DATE, LATEST_DATE]; otherwise InvalidValue (DATE_IMPLAUSIBLE)."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise InvalidValue(f"{what} {value.isoformat()} lies outside {EARLIEST_DATE.isoformat()} to "
                           f"{LATEST_DATE.isoformat()}", code=Code.DATE_IMPLAUSIBLE)
    return value


def xs_date(text: str | None, what: str) -> date:
    """An xs:date lexical value (``2026-11-01`` or with a zone, ``2026-11-01+03:00``) as a plausible date."""
    if not text:
        raise InvalidValue(f"{what} is missing")
    try:
        value = date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InvalidValue(f"{what} {text!r} is not a date") from None
    return plausible(value, what)
