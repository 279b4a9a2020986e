from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.signing import demo_signing_key_create


class Command(BaseCommand):
    help = "Create a self-signed demo signing key (PKCS#12) at DOCUMENT_SIGNING_PKCS12_PATH if none (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Replace an existing key file.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("A demo signing key is for development only (DEBUG is off).")
        path = Path(settings.DOCUMENT_SIGNING_PKCS12_PATH)
        if path.exists() and not options["force"]:
            self.stdout.write(f"Demo signing key already at {path}")
            return
        demo_signing_key_create(
            path=path,
            common_name=f"{settings.MINISTRY_NAME} (demo signing key, not valid for real documents)",
            organisation=settings.MINISTRY_NAME,
            passphrase=settings.DOCUMENT_SIGNING_PKCS12_PASSPHRASE or None,
        )
        self.stdout.write(self.style.SUCCESS(f"Demo signing key written to {path}"))
