"""SecretBox: key formats, the generated key file, sealing and the wrong-key error."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from vibn.specs.values import Sensitive
from vibn.state import SecretBox, StateError
from vibn.state.crypto import SEALED, parse_key

KEY = bytes(range(32))


@pytest.mark.parametrize(
    "text",
    [
        KEY.hex(),
        KEY.hex().upper(),
        base64.b64encode(KEY).decode(),
        base64.b64encode(KEY).decode().rstrip("="),
        base64.urlsafe_b64encode(KEY).decode(),
        f"  {KEY.hex()}\n",
    ],
)
def test_key_accepts_hex_and_base64(text: str) -> None:
    assert parse_key(text) == KEY


@pytest.mark.parametrize(
    "text", ["", "not a key", KEY.hex()[:-2], base64.b64encode(KEY[:16]).decode(), "é" * 44]
)
def test_malformed_key_is_a_clear_error_that_does_not_echo_it(text: str) -> None:
    with pytest.raises(StateError, match="VIBN_SECRETS_KEY is not a valid key") as caught:
        SecretBox.from_text(text)
    assert "64 hex digits or as base64" in str(caught.value)
    if text:
        assert text not in str(caught.value)


def test_box_repr_hides_the_key() -> None:
    assert repr(SecretBox(KEY)) == "SecretBox(***)"


def test_env_value_wins_over_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets.key"
    box = SecretBox.from_env_or_file(KEY.hex(), key_file)
    assert not key_file.exists()
    assert SecretBox(KEY).decrypt(box.encrypt("x")) == "x"


def test_key_file_is_created_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "nested" / "secrets.key"
    first = SecretBox.from_env_or_file(None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_text()
    second = SecretBox.from_env_or_file("  ", key_file)
    assert key_file.read_text() == content
    assert second.decrypt(first.encrypt("hello")) == "hello"
    assert list(key_file.parent.iterdir()) == [key_file]


def test_corrupt_key_file_names_the_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets.key"
    key_file.write_text("garbage")
    with pytest.raises(StateError, match=f"the secrets key file {key_file} is not a valid key"):
        SecretBox.from_env_or_file(None, key_file)


def test_seal_and_unseal_round_trip_nested_values() -> None:
    box = SecretBox(KEY)
    # plaintexts with characters base64 never uses, so the ciphertext cannot contain them
    one, two = "first secret!", "second secret!"
    value = {"a": [Sensitive(one), 1, {"b": Sensitive(two)}], "c": ("x", None), "d": 2.5}
    sealed = box.seal(value)
    assert one not in repr(sealed) and two not in repr(sealed)
    assert set(sealed["a"][0]) == {SEALED}
    assert box.unseal(sealed) == {
        "a": [Sensitive(one), 1, {"b": Sensitive(two)}],
        "c": ["x", None],
        "d": 2.5,
    }


def test_each_seal_uses_a_fresh_nonce() -> None:
    box = SecretBox(KEY)
    assert box.encrypt("same") != box.encrypt("same")


def test_wrong_key_is_a_clear_state_error() -> None:
    sealed = SecretBox(KEY).seal({"p": Sensitive("v")})
    with pytest.raises(StateError, match=r"cannot decrypt .*: wrong VIBN_SECRETS_KEY\?"):
        SecretBox(bytes(32)).unseal(sealed)


def test_corrupt_ciphertext_is_a_clear_state_error() -> None:
    with pytest.raises(StateError, match="stored value is corrupt"):
        SecretBox(KEY).decrypt("!!not base64!!")


def test_derived_keys_are_stable_per_purpose_and_not_the_sealing_key() -> None:
    box = SecretBox(KEY)
    plan = box.derive_key(b"plan fingerprints")
    assert len(plan) == 32 and plan != KEY
    assert SecretBox(KEY).derive_key(b"plan fingerprints") == plan
    assert box.derive_key(b"other") != plan
    assert SecretBox(bytes(32)).derive_key(b"plan fingerprints") != plan
