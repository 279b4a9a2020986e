from django.core.management.base import BaseCommand

from integrations.gateway_models import ReconciliationJob
from integrations.reconciliation import reconciliation_queue_pending, reconciliation_resume


class Command(BaseCommand):
    help = "Queue again every pending chunk of running (or the given) reconciliation jobs, e.g. after a worker restart."

    def add_arguments(self, parser):
        parser.add_argument("job_ids", nargs="*", type=int)

    def handle(self, *args, job_ids, **options):
        ids = job_ids or list(
            ReconciliationJob.objects.filter(status=ReconciliationJob.Status.RUNNING).values_list("pk", flat=True)
        )
        for job_id in ids:
            reconciliation_resume(job_id=job_id)
            queued = reconciliation_queue_pending(job_id=job_id)
            self.stdout.write(f"job {job_id}: {queued} chunk(s) queued")
