"""Gateway tokens at rest: MultiFernet, so keys rotate (newest key first encrypts)."""

import base64
import hashlib
from functools import cache, lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet(keys):
    if not keys:
        # Dev default: derived from SECRET_KEY (settings warns about it).
        derived = base64.urlsafe_b64encode(
            hashlib.sha256(b"playground-tokens:" + settings.SECRET_KEY.encode()).digest()
        )
        keys = (derived.decode(),)
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured("PLAYGROUND_TOKEN_KEYS holds a value that is not a Fernet key") from None


def fernet():
    return _fernet(tuple(settings.TOKEN_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return _decrypt(fernet(), ciphertext)


# Every run start sends its branch's token: decrypting it (an HMAC check and AES) took 100-170 us
# of the event loop's time before each first request. A token decrypted is remembered for the
# same keys (one MultiFernet per set of keys, `_fernet`) and ciphertext, at most 256 of them. The
# process holds the keys and every stored ciphertext anyway, so this adds only the tokens
# replaced since, until newer ones push them out; a new token or a key change is a new entry.
# The keys are not among the arguments, so no traceback's locals show them.
@lru_cache(maxsize=256)
def _decrypt(box: MultiFernet, ciphertext: str) -> str:
    try:
        return box.decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        # Never include the ciphertext or key material in the message.
        raise ImproperlyConfigured("A stored gateway token cannot be decrypted with the configured keys") from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key (MultiFernet.rotate keeps the timestamp)."""
    return fernet().rotate(ciphertext.encode()).decode()


def hint(token: str) -> str:
    """What pages may show of a token: its kind and last four characters."""
    token = token.strip()
    prefix = "nt_live_" if token.startswith("nt_live_") else ""
    return f"{prefix}...{token[-4:]}" if len(token) >= 8 else "..."
