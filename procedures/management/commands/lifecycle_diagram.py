"""Write docs/lifecycle.md, the dossier state machine generated from the code."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from procedures.diagram import lifecycle_mermaid


class Command(BaseCommand):
    help = "Write docs/lifecycle.md (the dossier state machine, generated from the code)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail if the committed file is stale.")

    def handle(self, *args, check=False, **options):
        path = Path(settings.BASE_DIR) / "docs" / "lifecycle.md"
        text = lifecycle_mermaid()
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise SystemExit("docs/lifecycle.md is stale: run `python manage.py lifecycle_diagram`")
            self.stdout.write("docs/lifecycle.md is current")
            return
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
