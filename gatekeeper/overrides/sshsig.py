"""Strict SSHSIG (OpenSSH PROTOCOL.sshsig) parsing and verification on `cryptography`.

Stricter than `ssh-keygen -Y verify` on purpose: canonical encodings only, no trailing bytes,
an empty reserved field, sha2 hashes only, RSA >= 2048 bits with rsa-sha2-* signatures, and
the FIDO user-presence flag (plus user-verification on request) checked for `sk-*` keys.

Every failure is a `SignatureRejected`; nothing else escapes `parse_signature`,
`parse_public_key` or `verify_signature`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAGIC = b"SSHSIG"
VERSION = 1
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"


class KeyType(enum.StrEnum):
    """The SSH key types accepted, by their wire names (as allowed_signers spells them)."""

    ED25519 = "ssh-ed25519"
    ECDSA_P256 = "ecdsa-sha2-nistp256"
    ECDSA_P384 = "ecdsa-sha2-nistp384"
    ECDSA_P521 = "ecdsa-sha2-nistp521"
    RSA = "ssh-rsa"
    SK_ED25519 = "sk-ssh-ed25519@openssh.com"
    SK_ECDSA_P256 = "sk-ecdsa-sha2-nistp256@openssh.com"


KEY_TYPES = tuple(KeyType)
SK_KEY_TYPES = (KeyType.SK_ED25519, KeyType.SK_ECDSA_P256)

RSA_MIN_BITS = 2048
RSA_MAX_BITS = 16384  # OpenSSH's own ceiling
# A comment is at most 65536 characters; nothing legitimate is larger.
MAX_ARMORED_CHARS = 65536
ARMOR_LINE = 70  # ssh-keygen's (and git's) wrapping; any other wrapping is refused

SK_USER_PRESENT = 0x01
SK_USER_VERIFIED = 0x04

_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_RSA_SIG_HASHES: dict[str, hashes.HashAlgorithm] = {
    "rsa-sha2-256": hashes.SHA256(),
    "rsa-sha2-512": hashes.SHA512(),
}
# (curve name in the key blob, curve, coordinate bytes, ECDSA hash) per key type.
_CURVES: dict[str, tuple[bytes, ec.EllipticCurve, int, hashes.HashAlgorithm]] = {
    KeyType.ECDSA_P256: (b"nistp256", ec.SECP256R1(), 32, hashes.SHA256()),
    KeyType.ECDSA_P384: (b"nistp384", ec.SECP384R1(), 48, hashes.SHA384()),
    KeyType.ECDSA_P521: (b"nistp521", ec.SECP521R1(), 66, hashes.SHA512()),
    KeyType.SK_ECDSA_P256: (b"nistp256", ec.SECP256R1(), 32, hashes.SHA256()),
}
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class RejectCode(enum.StrEnum):
    MALFORMED = "malformed"  # not a well-formed, canonical SSHSIG / key encoding
    UNSUPPORTED = "unsupported"  # well-formed but an algorithm we do not accept
    WEAK_KEY = "weak_key"  # RSA below 2048 bits
    NAMESPACE = "namespace"  # signed for another namespace (e.g. `git`)
    KEY_MISMATCH = "key_mismatch"  # signed by a key other than the expected one
    BAD_SIGNATURE = "bad_signature"  # the cryptographic check failed
    SK_FLAGS = "sk_flags"  # FIDO user presence / verification missing


class SignatureRejected(Exception):
    """A signature (or key) that does not verify. `code` is stable, `reason` is for humans."""

    def __init__(self, code: RejectCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code.value}: {self.reason}"


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An SSH public key as its wire blob. Equality is blob equality."""

    key_type: str
    blob: bytes

    @property
    def fingerprint(self) -> str:
        """ "SHA256:<base64 without padding>", as `ssh-keygen -l` prints it."""
        return fingerprint(self.blob)

    def openssh(self) -> str:
        """The `keytype base64` form used in allowed_signers and authorized_keys."""
        return f"{self.key_type} {base64.b64encode(self.blob).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class SshSignature:
    """A structurally valid SSHSIG blob, not yet verified."""

    public_key: PublicKey
    namespace: str
    hash_algorithm: str
    signature_algorithm: str
    signature: bytes  # the inner signature blob (algorithm-specific), for verification
    sk_flags: int | None
    sk_counter: int | None


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """What a successful verification proves, independent of any principal."""

    key_type: str
    fingerprint: str  # "SHA256:<base64 without padding>", as `ssh-keygen -l` prints it
    signature_algorithm: str
    hash_algorithm: str
    namespace: str
    sk_flags: int | None  # None for non-FIDO keys
    sk_counter: int | None


def fingerprint(blob: bytes) -> str:
    """ "SHA256:<base64 without padding>", as `ssh-keygen -l` prints it."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


# --- wire reader -------------------------------------------------------------------------


class _Reader:
    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def _fail(self, why: str) -> SignatureRejected:
        return SignatureRejected(RejectCode.MALFORMED, f"{self._what}: {why}")

    def raw(self, n: int) -> bytes:
        if n > len(self._data) - self._pos:
            raise self._fail("truncated")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        return self.raw(1)[0]

    def u32(self) -> int:
        value: int = struct.unpack(">I", self.raw(4))[0]
        return value

    def string(self) -> bytes:
        return self.raw(self.u32())

    def name(self) -> str:
        """An algorithm or namespace name: printable ASCII, non-empty."""
        value = self.string()
        if not value or any(b < 0x21 or b > 0x7E for b in value):
            raise self._fail("a name is empty or not printable ASCII")
        return value.decode("ascii")

    def mpint(self) -> int:
        """A positive, minimally encoded mpint (RFC 4251 section 5)."""
        value = self.string()
        if not value:
            raise self._fail("zero where a positive integer is required")
        if value[0] & 0x80:
            raise self._fail("negative integer")
        if value[0] == 0 and (len(value) == 1 or not value[1] & 0x80):
            raise self._fail("integer with a superfluous leading zero byte")
        return int.from_bytes(value, "big")

    def end(self) -> None:
        if self._pos != len(self._data):
            raise self._fail(f"{len(self._data) - self._pos} trailing bytes")


# --- keys --------------------------------------------------------------------------------


_CryptoKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True, slots=True)
class _Key:
    key_type: str
    crypto: _CryptoKey
    application: bytes | None  # FIDO keys only


def _load_key(blob: bytes) -> _Key:
    r = _Reader(blob, "public key")
    key_type = r.name()
    key: _Key
    if key_type in (KeyType.ED25519, KeyType.SK_ED25519):
        raw = r.string()
        if len(raw) != 32:
            raise r._fail("ed25519 key is not 32 bytes")
        app = r.string() if key_type == KeyType.SK_ED25519 else None
        key = _Key(key_type, ed25519.Ed25519PublicKey.from_public_bytes(raw), app)
    elif key_type in _CURVES:
        curve_name, curve, size, _ = _CURVES[key_type]
        if r.string() != curve_name:
            raise r._fail("curve name does not match the key type")
        point = r.string()
        # Uncompressed points only, as OpenSSH writes them; cryptography checks the curve.
        if len(point) != 1 + 2 * size or point[0] != 0x04:
            raise r._fail("EC point is not an uncompressed point of the right size")
        app = r.string() if key_type == KeyType.SK_ECDSA_P256 else None
        key = _Key(key_type, ec.EllipticCurvePublicKey.from_encoded_point(curve, point), app)
    elif key_type == KeyType.RSA:
        e = r.mpint()
        n = r.mpint()
        bits = n.bit_length()
        if bits > RSA_MAX_BITS:
            raise SignatureRejected(RejectCode.UNSUPPORTED, f"RSA key of {bits} bits is too large")
        if e.bit_length() > 64:
            # Real keys use 65537; a huge exponent only makes verification slow.
            raise SignatureRejected(RejectCode.UNSUPPORTED, "RSA public exponent is too large")
        if bits < RSA_MIN_BITS:
            raise SignatureRejected(
                RejectCode.WEAK_KEY, f"RSA key of {bits} bits (at least {RSA_MIN_BITS} required)"
            )
        key = _Key(key_type, rsa.RSAPublicNumbers(e, n).public_key(), None)
    else:
        raise SignatureRejected(RejectCode.UNSUPPORTED, f"unsupported key type {key_type!r}")
    r.end()
    return key


def parse_public_key(blob: bytes) -> PublicKey:
    """Validate a public key blob (type, canonical encoding, size, on-curve point)."""
    try:
        return PublicKey(_load_key(blob).key_type, bytes(blob))
    except SignatureRejected:
        raise
    except Exception as exc:  # cryptography's ValueError and friends: one boundary
        raise SignatureRejected(RejectCode.MALFORMED, f"public key: {_why(exc)}") from None


def public_key_from_openssh(text: str) -> PublicKey:
    """Parse `keytype base64 [comment]` (a .pub file line) and check the type matches."""
    try:
        fields = text.split()
        if len(fields) < 2:
            raise SignatureRejected(RejectCode.MALFORMED, "expected 'keytype base64 [comment]'")
        blob = _b64decode_strict(fields[1], "public key")
        key = parse_public_key(blob)
        if key.key_type != fields[0]:
            raise SignatureRejected(
                RejectCode.MALFORMED,
                f"key type {fields[0]!r} does not match the encoded key ({key.key_type})",
            )
        return key
    except SignatureRejected:
        raise
    except Exception as exc:
        raise SignatureRejected(RejectCode.MALFORMED, f"public key: {_why(exc)}") from None


# --- armor and blob ----------------------------------------------------------------------


def _b64decode_strict(text: str, what: str) -> bytes:
    if not text or not set(text) <= _B64_ALPHABET:
        raise SignatureRejected(RejectCode.MALFORMED, f"{what}: not base64")
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise SignatureRejected(RejectCode.MALFORMED, f"{what}: invalid base64") from None
    # Canonical only: exact padding, zero pad bits. One encoding per signature.
    if base64.b64encode(data).decode("ascii") != text:
        raise SignatureRejected(RejectCode.MALFORMED, f"{what}: non-canonical base64")
    return data


def dearmor(armored: str) -> bytes:
    """The SSHSIG blob inside `-----BEGIN SSH SIGNATURE-----` armor.

    Exactly as ssh-keygen writes it (70-character lines, at most one final LF), so that a
    signature has a single text form.
    """
    if len(armored) > MAX_ARMORED_CHARS:
        raise SignatureRejected(RejectCode.MALFORMED, "armored signature is too large")
    if not armored.isascii():
        raise SignatureRejected(RejectCode.MALFORMED, "armored signature is not ASCII")
    lines = armored.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise SignatureRejected(
            RejectCode.MALFORMED, "armor must be BEGIN line, base64 lines, END line, nothing else"
        )
    body = lines[1:-1]
    if any(len(line) != ARMOR_LINE for line in body[:-1]) or not 0 < len(body[-1]) <= ARMOR_LINE:
        raise SignatureRejected(
            RejectCode.MALFORMED, f"armor lines must be {ARMOR_LINE} characters (the last 1 to 70)"
        )
    return _b64decode_strict("".join(body), "armored signature")


def _parse_blob(blob: bytes) -> SshSignature:
    r = _Reader(blob, "SSHSIG")
    if r.raw(6) != MAGIC:
        raise SignatureRejected(RejectCode.MALFORMED, "missing SSHSIG magic")
    version = r.u32()
    if version != VERSION:
        raise SignatureRejected(RejectCode.UNSUPPORTED, f"SSHSIG version {version}")
    key_blob = r.string()
    namespace = r.name()
    if r.string():
        # ssh-keygen never fills it; refusing keeps one encoding per signature.
        raise SignatureRejected(RejectCode.UNSUPPORTED, "non-empty reserved field")
    hash_algorithm = r.name()
    sig_blob = r.string()
    r.end()
    if hash_algorithm not in _HASHES:
        raise SignatureRejected(RejectCode.UNSUPPORTED, f"hash algorithm {hash_algorithm!r}")

    key = parse_public_key(key_blob)
    s = _Reader(sig_blob, "signature")
    sig_alg = s.name()
    sig = s.string()
    flags: int | None = None
    counter: int | None = None
    if key.key_type in SK_KEY_TYPES:
        flags = s.u8()
        counter = s.u32()
    s.end()
    allowed = tuple(_RSA_SIG_HASHES) if key.key_type == KeyType.RSA else (key.key_type,)
    if sig_alg not in allowed:
        raise SignatureRejected(
            RejectCode.UNSUPPORTED,
            f"signature algorithm {sig_alg!r} for a {key.key_type} key"
            + (" (SHA-1 RSA signatures are refused)" if sig_alg == "ssh-rsa" else ""),
        )
    return SshSignature(key, namespace, hash_algorithm, sig_alg, sig, flags, counter)


def parse_signature(armored: str) -> SshSignature:
    """Parse and structurally validate an armored SSHSIG. Raises only `SignatureRejected`."""
    try:
        return _parse_blob(dearmor(armored))
    except SignatureRejected:
        raise
    except Exception as exc:
        raise SignatureRejected(RejectCode.MALFORMED, f"signature: {_why(exc)}") from None


# --- verification ------------------------------------------------------------------------


def signed_data(namespace: str, hash_algorithm: str, message: bytes) -> bytes:
    """The blob the key actually signs (PROTOCOL.sshsig "Signed Data")."""
    digest = _HASHES[hash_algorithm](message).digest()
    return MAGIC + b"".join(
        _string(x) for x in (namespace.encode("ascii"), b"", hash_algorithm.encode("ascii"), digest)
    )


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _ecdsa_der(sig: bytes) -> bytes:
    r = _Reader(sig, "ECDSA signature")
    rr = r.mpint()
    ss = r.mpint()
    r.end()
    return encode_dss_signature(rr, ss)


def _check(sig: SshSignature, key: _Key, tbs: bytes) -> None:
    """Raise InvalidSignature (or a rejection) unless `sig` signs `tbs` with `key`."""
    crypto = key.crypto
    if key.key_type in SK_KEY_TYPES:
        # FIDO: the authenticator signs sha256(application) || flags || counter || sha256(data).
        assert key.application is not None and sig.sk_flags is not None
        assert sig.sk_counter is not None
        tbs = (
            hashlib.sha256(key.application).digest()
            + bytes([sig.sk_flags])
            + struct.pack(">I", sig.sk_counter)
            + hashlib.sha256(tbs).digest()
        )
    if isinstance(crypto, ed25519.Ed25519PublicKey):
        if len(sig.signature) != 64:
            raise SignatureRejected(RejectCode.MALFORMED, "ed25519 signature is not 64 bytes")
        crypto.verify(sig.signature, tbs)
    elif isinstance(crypto, ec.EllipticCurvePublicKey):
        crypto.verify(_ecdsa_der(sig.signature), tbs, ec.ECDSA(_CURVES[key.key_type][3]))
    else:
        if len(sig.signature) != (crypto.key_size + 7) // 8:
            raise SignatureRejected(RejectCode.MALFORMED, "RSA signature length != modulus length")
        algorithm = _RSA_SIG_HASHES[sig.signature_algorithm]
        crypto.verify(sig.signature, tbs, padding.PKCS1v15(), algorithm)


def _verify(
    signature: str | SshSignature,
    message: bytes,
    namespace: str,
    public_key: PublicKey | None,
    require_user_verification: bool,
) -> VerifiedSignature:
    sig = parse_signature(signature) if isinstance(signature, str) else signature
    if sig.namespace != namespace:
        raise SignatureRejected(
            RejectCode.NAMESPACE, f"signed for namespace {sig.namespace!r}, not {namespace!r}"
        )
    if public_key is not None and sig.public_key.blob != public_key.blob:
        raise SignatureRejected(
            RejectCode.KEY_MISMATCH,
            f"signed by {sig.public_key.fingerprint}, expected {public_key.fingerprint}",
        )
    key = _load_key(sig.public_key.blob)
    tbs = signed_data(sig.namespace, sig.hash_algorithm, message)
    try:
        _check(sig, key, tbs)
    except InvalidSignature:
        raise SignatureRejected(
            RejectCode.BAD_SIGNATURE,
            f"signature by {sig.public_key.fingerprint} does not match the message",
        ) from None
    # Flags are signed, so they are only meaningful (and only reported) after the check above.
    if sig.sk_flags is not None:
        if not sig.sk_flags & SK_USER_PRESENT:
            raise SignatureRejected(
                RejectCode.SK_FLAGS, "security key signature without user presence (touch)"
            )
        if require_user_verification and not sig.sk_flags & SK_USER_VERIFIED:
            raise SignatureRejected(
                RejectCode.SK_FLAGS,
                "security key signature without user verification (PIN); "
                "create the key with `ssh-keygen -t ed25519-sk -O verify-required`",
            )
    elif require_user_verification:
        # Only a FIDO authenticator can attest a PIN or biometric check.
        raise SignatureRejected(
            RejectCode.SK_FLAGS,
            f"user verification is required but {sig.public_key.key_type} is not a security key",
        )
    return VerifiedSignature(
        key_type=sig.public_key.key_type,
        fingerprint=sig.public_key.fingerprint,
        signature_algorithm=sig.signature_algorithm,
        hash_algorithm=sig.hash_algorithm,
        namespace=sig.namespace,
        sk_flags=sig.sk_flags,
        sk_counter=sig.sk_counter,
    )


def verify_signature(
    signature: str | SshSignature,
    message: bytes,
    *,
    namespace: str,
    public_key: PublicKey | None,
    require_user_verification: bool = False,
) -> VerifiedSignature:
    """Verify an armored (or parsed) SSHSIG over `message`.

    `public_key` is the trusted key (from allowed_signers) the embedded key must equal; None
    checks only self-consistency (the sign side checking its own output). Raises only
    `SignatureRejected`.
    """
    try:
        return _verify(signature, message, namespace, public_key, require_user_verification)
    except SignatureRejected:
        raise
    except Exception as exc:  # the boundary: no parser exception may escape as a crash
        raise SignatureRejected(RejectCode.MALFORMED, f"signature: {_why(exc)}") from None


def _why(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:120]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
