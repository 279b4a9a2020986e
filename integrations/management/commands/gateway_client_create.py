from django.core.management.base import BaseCommand, CommandError

from integrations.gateway_models import GatewayClient


class Command(BaseCommand):
    help = "Create (or re-key) a system allowed to call the population gateway; print its API key once."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--name", default="")
        parser.add_argument("--scopes", default="lookup,verify", help="comma-separated: lookup, verify, bulk")
        parser.add_argument("--daily-quota", type=int, default=10_000)
        parser.add_argument("--rate", default="120/min")

    def handle(self, *args, code, name, scopes, daily_quota, rate, **options):
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        unknown = set(wanted) - set(GatewayClient.Scope.values)
        if unknown:
            raise CommandError(f"unknown scope(s): {', '.join(sorted(unknown))}")
        client, _ = GatewayClient.objects.update_or_create(
            code=code, defaults={"name": name or code, "scopes": wanted, "daily_quota": daily_quota, "rate": rate}
        )
        self.stdout.write(f"API key for {client.code} (shown once): {client.issue_key()}")
