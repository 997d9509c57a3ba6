"""Tokens at rest: a token decrypted once is remembered for the same keys and ciphertext."""

import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.core.exceptions import ImproperlyConfigured

from playground.teams import crypto


@pytest.fixture
def decryptions(monkeypatch):
    """How many times MultiFernet actually decrypted."""
    calls = []
    real = MultiFernet.decrypt

    def counting(self, token, ttl=None):
        calls.append(token)
        return real(self, token, ttl)

    monkeypatch.setattr(MultiFernet, "decrypt", counting)
    return calls


def test_a_token_is_decrypted_once_and_remembered(settings, decryptions):
    settings.TOKEN_KEYS = [Fernet.generate_key().decode()]
    stored = crypto.encrypt("nt_live_remembered_token_0001")
    assert crypto.decrypt(stored) == "nt_live_remembered_token_0001"
    assert crypto.decrypt(stored) == "nt_live_remembered_token_0001"
    assert len(decryptions) == 1
    # A new token is a new ciphertext: decrypted in its turn.
    other = crypto.encrypt("nt_live_remembered_token_0002")
    assert crypto.decrypt(other) == "nt_live_remembered_token_0002"
    assert len(decryptions) == 2


def test_other_keys_decrypt_again_and_a_removed_key_fails(settings, decryptions):
    old = Fernet.generate_key().decode()
    settings.TOKEN_KEYS = [old]
    stored = crypto.encrypt("nt_live_rotated_token_0001")
    assert crypto.decrypt(stored) == "nt_live_rotated_token_0001"
    # Rotation: a new key first, the old one kept: the same ciphertext still reads.
    settings.TOKEN_KEYS = [Fernet.generate_key().decode(), old]
    assert crypto.decrypt(stored) == "nt_live_rotated_token_0001"
    assert len(decryptions) == 2  # the new set of keys decrypted it afresh
    # The old key removed: what was remembered for the old keys does not answer.
    settings.TOKEN_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted") as info:
        crypto.decrypt(stored)
    assert stored not in str(info.value) and old not in str(info.value)
