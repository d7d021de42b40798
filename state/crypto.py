"""Encryption at rest for every secret the state store holds.

Sensitive values (``vibn.specs.values.Sensitive``) inside resource props and outputs, and
the workspace secrets table, are sealed with AES-256-GCM before they reach the database
and opened again on the way out. The key is passed in explicitly as a ``SecretBox`` so
that nothing in the store reads the environment on its own; ``from_env_or_file`` is the
one place that turns ``VIBN_SECRETS_KEY`` (or a generated key file) into a box.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vibn.specs.values import Sensitive
from vibn.state.errors import StateError

KEY_BYTES = 32
NONCE_BYTES = 12
#: the JSON marker of a sealed value: ``{"$sensitive": "<base64(nonce || ciphertext)>"}``
SEALED = "$sensitive"

_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class SecretBox:
    """Seals and opens strings with one AES-256-GCM key. Its repr never shows the key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise StateError(f"the secrets key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        self._derive = hmac.new(key, b"vibn derived keys", hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "SecretBox(***)"

    def derive_key(self, purpose: bytes) -> bytes:
        """A 32-byte key for ``purpose`` (e.g. plan fingerprints), never the sealing key."""
        return hmac.new(self._derive, purpose, hashlib.sha256).digest()

    @classmethod
    def from_text(cls, text: str, *, source: str = "VIBN_SECRETS_KEY") -> SecretBox:
        """A box from 64 hex digits or base64 (standard or URL-safe) of 32 bytes."""
        return cls(parse_key(text, source=source))

    @classmethod
    def generate(cls) -> SecretBox:
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def from_env_or_file(cls, env_value: str | None, key_file: Path) -> SecretBox:
        """The key from ``VIBN_SECRETS_KEY`` when set, else from ``key_file``.

        With neither, a random key is written to ``key_file`` (mode 0600, created
        atomically so two processes starting together agree on one key) and used from
        then on.
        """
        if env_value is not None and env_value.strip():
            return cls.from_text(env_value)
        if not key_file.exists():
            _create_key_file(key_file)
        try:
            text = key_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"cannot read the secrets key file {key_file}: {exc}") from None
        return cls.from_text(text, source=f"the secrets key file {key_file}")

    def encrypt(self, plaintext: str) -> str:
        """base64(nonce || ciphertext-and-tag)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)
        return base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, *, what: str = "a secret") -> str:
        """The plaintext of ``encrypt``'s output; a clear ``StateError`` when it cannot."""
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise StateError(f"cannot decrypt {what}: the stored value is corrupt") from None
        if len(raw) <= NONCE_BYTES:
            raise StateError(f"cannot decrypt {what}: the stored value is corrupt")
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
        except InvalidTag:
            raise StateError(
                f"cannot decrypt {what}: wrong VIBN_SECRETS_KEY? "
                "(it was stored with a different key)"
            ) from None
        return plain.decode("utf-8")

    def seal(self, value: Any) -> Any:
        """A JSON-ready copy of ``value`` with every ``Sensitive`` leaf encrypted."""
        if isinstance(value, Sensitive):
            return {SEALED: self.encrypt(value.value)}
        if isinstance(value, Mapping):
            return {str(k): self.seal(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.seal(v) for v in value]
        return value

    def unseal(self, value: Any, *, what: str = "a stored value") -> Any:
        """The reverse of ``seal``: sealed leaves come back as ``Sensitive``."""
        if isinstance(value, dict):
            token = value.get(SEALED)
            if len(value) == 1 and isinstance(token, str):
                return Sensitive(self.decrypt(token, what=what))
            return {k: self.unseal(v, what=what) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unseal(v, what=what) for v in value]
        return value


def parse_key(text: str, *, source: str = "VIBN_SECRETS_KEY") -> bytes:
    """32 key bytes from hex or base64 text; the error never echoes the text."""
    text = text.strip()
    if _HEX_KEY.match(text):
        return bytes.fromhex(text)
    standard = text.replace("-", "+").replace("_", "/")
    padded = standard + "=" * (-len(standard) % 4)
    try:
        key = base64.b64decode(padded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) == KEY_BYTES:
        return key
    raise StateError(
        f"{source} is not a valid key: expected {KEY_BYTES} random bytes written as "
        f"64 hex digits or as base64 (got {len(text)} characters); "
        "generate one with `openssl rand -base64 32`"
    )


def _create_key_file(key_file: Path) -> None:
    """Write a fresh key to ``key_file`` unless another process just did."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    text = base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii") + "\n"
    scratch = key_file.with_name(f".{key_file.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(scratch, key_file)
    finally:
        scratch.unlink(missing_ok=True)
