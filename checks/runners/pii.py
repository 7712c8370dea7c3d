"""Detectors for unmasked personal data in a single cell value.

Each detector answers "does this value contain an *unmasked* X?" and never
returns the value.  Masking characters (``*``, ``X``, ``#``, ``•``) break
every pattern, so ``j***@example.com``, ``***-**-1234`` and
``XXXX-XXXX-XXXX-4242`` do not match.

Payment cards: 13–19 digits, optionally grouped by single spaces or dashes,
that pass the Luhn checksum *and* start with an issuer prefix of a major
scheme (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro).
The prefix test is deliberate: one random digit string in ten passes Luhn, so
without it every column of 16-digit order numbers would be reported.

National identifiers: US SSN (whole value ``ddd-dd-dddd``, excluding area
000, 666 and 900–999, group 00 and serial 0000), UK National Insurance
number (HMRC prefix rules), IBAN (country code, check digits, mod-97 == 1).
Phones: E.164, ``+`` followed by 8–15 digits (single spaces or dashes allowed
between digit groups).
"""

from __future__ import annotations

import re
from collections.abc import Callable

EMAIL = re.compile(r"(?<![\w.%+*#-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w*])")
CARD_CANDIDATE = re.compile(r"(?<![\w*#•.+-])\d(?:[ -]?\d){12,18}(?![\w*#•]|[ -]\d)")
SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
NINO = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]$")
IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
PHONE = re.compile(r"(?<![\w+*#])\+[1-9](?:[ -]?\d){7,14}(?![\w*#])")

_CARD_PREFIXES = re.compile(
    r"^(?:4\d{12}(?:\d{3}){0,2}"  # Visa 13/16/19
    r"|5[1-5]\d{14}|2(?:2[2-9]\d|[3-6]\d\d|7[01]\d|720)\d{12}"  # Mastercard
    r"|3[47]\d{13}"  # American Express
    r"|6(?:011|5\d\d|4[4-9]\d)\d{12,15}"  # Discover
    r"|35(?:2[89]|[3-8]\d)\d{12,15}"  # JCB
    r"|3(?:0[0-5]|[68]\d)\d{11,16}"  # Diners Club
    r"|62\d{14,17}"  # UnionPay
    r"|(?:50|5[6-9]|6[0-9])\d{11,17})$"  # Maestro
)


def luhn_valid(number: str) -> bool:
    """Luhn (mod 10) checksum of a digit string (separators must be removed first)."""
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    """ISO 13616 mod-97 check on an IBAN without spaces."""
    compact = value.replace(" ", "").upper()
    if not IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def has_card(text: str) -> bool:
    for match in CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and _CARD_PREFIXES.match(digits) and luhn_valid(digits):
            return True
    return False


def has_email(text: str) -> bool:
    return "@" in text and EMAIL.search(text) is not None


def has_ssn(text: str) -> bool:
    return SSN.match(text.strip()) is not None


def has_nino(text: str) -> bool:
    return NINO.match(text.strip().upper()) is not None


def has_iban(text: str) -> bool:
    stripped = text.strip()
    return 15 <= len(stripped.replace(" ", "")) <= 34 and iban_valid(stripped)


def has_phone(text: str) -> bool:
    return "+" in text and PHONE.search(text) is not None


# kind -> (label used in titles, severity, detector)
DETECTORS: dict[str, tuple[str, str, Callable[[str], bool]]] = {
    "email": ("e-mail addresses", "medium", has_email),
    "card": ("payment card numbers", "high", has_card),
    "ssn": ("US social security numbers", "high", has_ssn),
    "nino": ("UK national insurance numbers", "high", has_nino),
    "iban": ("IBANs", "high", has_iban),
    "phone": ("phone numbers (E.164)", "medium", has_phone),
}


def detect(value: str) -> list[str]:
    """The kinds of unmasked personal data found in one value."""
    if not value or len(value) < 6:
        return []
    text = value if len(value) <= 4096 else value[:4096]
    return [kind for kind, (_, _, check) in DETECTORS.items() if check(text)]
