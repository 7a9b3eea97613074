"""Certificates for the secure local broker: a private CA, the broker's certificate, nothing else.

Generated once into the broker's state folder with the ``cryptography`` library (no openssl or keytool
steps to get wrong). Kafka reads PEM directly (``ssl.keystore.type=PEM``), so the broker's key and chain go
into one PEM file and clients trust ``ca.pem``. The CA's key stays beside them, readable by its owner only:
this is a development and test broker, not a production PKI.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vigil.platform.secret_files import write_private

VALID_DAYS = 825  # the longest lifetime clients accept for a server certificate


@dataclass(frozen=True)
class LocalTls:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def broker_keystore(self) -> Path:
        """The broker's unencrypted PKCS#8 key, its certificate and the CA's, in that order."""
        return self.folder / "broker.pem"

    def exists(self) -> bool:
        return self.ca.is_file() and self.broker_keystore.is_file()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vigil local broker"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue(
    folder: Path, broker_name: str = "broker", hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> LocalTls:
    """A CA and a broker certificate (common name ``broker_name``, valid for ``hosts``) unless present."""
    tls = LocalTls(folder)
    if tls.exists():
        return tls
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC) - timedelta(minutes=5)  # a clock a little behind must not see it as future
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Vigil local CA"))
        .issuer_name(_name("Vigil local CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(broker_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # the broker is a server to clients and a client of its own controller listener (mutual TLS)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    write_private(
        folder / "ca.key",
        ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    write_private(
        tls.broker_keystore,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(pem)
        + ca_cert.public_bytes(pem),
    )
    tls.ca.write_bytes(ca_cert.public_bytes(pem))  # written last: its presence says the set is complete
    return tls
