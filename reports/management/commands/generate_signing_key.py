from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand

from reports.bundle import public_key_fingerprint


class Command(BaseCommand):
    help = "Print a new Ed25519 private key (PEM) for signing evidence bundles; its fingerprint goes to stderr."

    def handle(self, *args, **options):
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        self.stdout.write(pem.strip())
        self.stderr.write(f"fingerprint: {public_key_fingerprint(pem)} (publish it where auditors can check it)")
