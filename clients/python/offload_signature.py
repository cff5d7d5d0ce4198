"""Verify that a request came from Offload: the ``Offload-Signature`` header of pushes and webhooks.

One module, standard library only. Copy it next to your receiver (or put its directory on
PYTHONPATH)::

    from offload_signature import SignatureError, verify_signature

    try:
        verify_signature(secret, headers.get('Offload-Signature'), raw_body)
    except SignatureError as e:
        return 401, e.code

The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``, with one ``v1``
per secret the sender holds (two while it rotates secrets). A request is accepted when any ``v1``
matches under any of the receiver's secrets, and its ``t`` is within ``tolerance`` seconds of the
receiver's clock (the replay window). See docs/reference/signatures.md.
"""

import hashlib
import hmac
import re
import time

__all__ = ['verify_signature', 'SignatureError', 'SIGNATURE_HEADER', 'DEFAULT_TOLERANCE']

SIGNATURE_HEADER = 'Offload-Signature'
DEFAULT_TOLERANCE = 300

_TIMESTAMP = re.compile(r'\A[0-9]{1,15}\Z')
_V1 = re.compile(r'\A[0-9a-fA-F]{64}\Z')


class SignatureError(Exception):
    """A refused request. ``code`` is SIGNATURE_MISSING, SIGNATURE_INVALID or SIGNATURE_EXPIRED."""

    def __init__(self, code, message):
        super().__init__('%s: %s' % (code, message))
        self.code = code
        self.message = message


def verify_signature(secrets, header, body, tolerance=DEFAULT_TOLERANCE, now=None):
    """Returns the signed timestamp (unix seconds), or raises SignatureError.

    ``secrets``: one secret or a list of them. ``body``: the raw bytes as received, before any
    parsing (a str is taken as UTF-8). ``now``: unix seconds (default: the clock).
    """
    keys = _secret_list(secrets)
    if header is None or header.strip() == '':
        raise SignatureError('SIGNATURE_MISSING', 'the request has no %s header, so nothing shows that Offload sent it: refuse it. '
                             'If Offload did send it, check that no proxy between Offload and this receiver drops the header.' % SIGNATURE_HEADER)
    timestamp, signatures = _parse(header)
    payload = timestamp.encode('ascii') + b'.' + _as_bytes(body)
    expected = [hmac.new(key, payload, hashlib.sha256).hexdigest() for key in keys]
    # Every pair is compared, so the time taken says nothing about which one came close.
    matched = False
    for signature in signatures:
        for e in expected:
            matched = hmac.compare_digest(signature, e) or matched
    if not matched:
        raise _invalid('no v1 signature matches the body and timestamp under any of the secrets')
    # Only a signed timestamp is worth judging: a forged request is invalid, not "expired".
    seconds = int(timestamp)
    now_seconds = int(time.time() if now is None else now)
    if abs(now_seconds - seconds) > tolerance:
        raise SignatureError('SIGNATURE_EXPIRED', 'the %s timestamp %d is %d s from this receiver\'s clock (%d), over the tolerance of %d s. '
                             'Refuse the request: it may be a replay of an old one. If it is fresh, the sender\'s or this machine\'s clock is '
                             'wrong: keep both in sync (NTP).' % (SIGNATURE_HEADER, seconds, abs(now_seconds - seconds), now_seconds, tolerance))
    return seconds


def _secret_list(secrets):
    keys = [secrets] if isinstance(secrets, (str, bytes)) else list(secrets)
    # Without a secret nothing can be checked: a configuration bug, not a bad request.
    if not keys or any(not isinstance(k, (str, bytes)) or len(k) == 0 for k in keys):
        raise ValueError('give at least one signing secret, each a non-empty string')
    return [k.encode('utf-8') if isinstance(k, str) else k for k in keys]


def _parse(header):
    """The timestamp exactly as sent (it is what was signed) and the well-formed v1 signatures."""
    timestamp = None
    signatures = []
    for part in header.split(','):
        key, eq, value = part.partition('=')
        if not eq:
            raise _invalid('"%s" is not key=value' % part.strip())
        key, value = key.strip(), value.strip()
        if key == 't':
            if timestamp is not None:
                raise _invalid('t is given twice')
            if not _TIMESTAMP.match(value):
                raise _invalid('t=%s is not a unix time in seconds' % value)
            timestamp = value
        elif key == 'v1' and _V1.match(value):
            # A v1 that is not 64 hex digits cannot match: skipped, so it does not hide a good one.
            signatures.append(value.lower())
        # Other keys are schemes this version does not know (a future v2): ignored.
    if timestamp is None:
        raise _invalid('the header has no t=<unix seconds>')
    if not signatures:
        raise _invalid('the header has no v1=<64 hex digits> signature')
    return timestamp, signatures


def _invalid(problem):
    return SignatureError('SIGNATURE_INVALID', 'invalid %s: %s. Refuse the request: it was not signed with any of this receiver\'s secrets, '
                          'or its body or timestamp changed on the way. If Offload did send it, check that the receiver holds the endpoint\'s '
                          'current secret and verifies the raw body bytes, before any parsing.' % (SIGNATURE_HEADER, problem))


def _as_bytes(body):
    if isinstance(body, str):
        return body.encode('utf-8')
    return bytes(body)
