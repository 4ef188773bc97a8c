"""Runs django-connectwise's full sync (`manage.py cwsync`), unchanged, against the sandbox.

django-connectwise is the sync engine behind several MSP portals: it reads every ConnectWise
type it knows into Django models with NOT NULL columns, page by page. The script configures a
throwaway Django project on SQLite, migrates it, then runs each of cwsync's synchronizers in
its own order, printing one line per type (`ok <type>: created N …`) and exiting non-zero
with `FAIL <type>: …` on the first error. At the end it checks that the types the demo seed
fills arrived (companies, contacts, boards, tickets, …), as many of each as the sandbox counts,
and that the database refused no row (a NOT NULL column left without a value).

Env: CWBRIDGE_SANDBOX_URL (https://host:port), CWBRIDGE_SANDBOX_COMPANY,
CWBRIDGE_SANDBOX_PUBLIC_KEY, CWBRIDGE_SANDBOX_PRIVATE_KEY, CWBRIDGE_SANDBOX_CLIENT_ID,
REQUESTS_CA_BUNDLE (the sandbox's cert.pem).
"""

import os
import sys
import tempfile
import traceback

import django
from django.conf import settings

env = os.environ.get
work = tempfile.mkdtemp(prefix="djconnectwise-")
settings.configure(
    DEBUG=False,
    USE_TZ=True,
    TIME_ZONE="UTC",
    SECRET_KEY="sandbox-sync-check",
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "djconnectwise",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(work, "sync.sqlite3"),
        }
    },
    CONNECTWISE_SERVER_URL=env("CWBRIDGE_SANDBOX_URL"),
    CONNECTWISE_CLIENTID=env("CWBRIDGE_SANDBOX_CLIENT_ID"),
    CONNECTWISE_TICKET_PATH="v4_6_release/services/system_io/router/openrecord.rails",
    CONNECTWISE_CREDENTIALS={
        "company_id": env("CWBRIDGE_SANDBOX_COMPANY"),
        "api_public_key": env("CWBRIDGE_SANDBOX_PUBLIC_KEY"),
        "api_private_key": env("CWBRIDGE_SANDBOX_PRIVATE_KEY"),
    },
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    LOGGING_CONFIG=None,
)
django.setup()

import logging  # noqa: E402

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402

from djconnectwise import models  # noqa: E402
from djconnectwise.management.commands.cwsync import Command  # noqa: E402

call_command("migrate", verbosity=0)


class Refusals(logging.Handler):
    """Keeps django-connectwise's reports of rows the database refused."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        message = record.getMessage()
        if "IntegrityError" in message:
            self.records.append(message)


refusals = Refusals()
logging.getLogger("djconnectwise").addHandler(refusals)

command = Command()
for name, (synchronizer, label) in command.synchronizer_map.items():
    try:
        created, updated, skipped, deleted = synchronizer(full=True).sync()
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        traceback.print_exc()
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        sys.exit(1)
    print(f"ok {name}: created {created}, updated {updated}, skipped {skipped}, deleted {deleted}")

# What the demo seed holds must have arrived.
expected = {
    "Company": models.Company,
    "Contact": models.Contact,
    "ContactCommunication": models.ContactCommunication,
    "CommunicationType": models.CommunicationType,
    "ConnectWiseBoard": models.ConnectWiseBoard,
    "BoardStatus": models.BoardStatus,
    "Ticket": models.Ticket,
    "ServiceNote": models.ServiceNote,
    "TicketPriority": models.TicketPriority,
    "CompanyStatus": models.CompanyStatus,
    "CompanyType": models.CompanyType,
    "AgreementType": models.AgreementType,
    "Agreement": models.Agreement,
    "Member": models.Member,
    "TimeEntry": models.TimeEntry,
    "ConfigurationStatus": models.ConfigurationStatus,
    # Not ConfigurationType: django-connectwise 1.25.3 reads configuration types from
    # `company/configurations/statuses` (its get_configuration_types asks ENDPOINT_STATUS),
    # whose records have no `name`, so it stores none against ConnectWise too.
}
for label, model in expected.items():
    n = model.objects.count()
    if n == 0:
        print(f"FAIL {label}: none synced")
        sys.exit(1)
    print(f"synced {label}: {n}")

# Nothing was dropped: as many rows as the sandbox counts (`/count`, as ConnectWise answers).
session = requests.Session()
session.auth = (
    f"{env('CWBRIDGE_SANDBOX_COMPANY')}+{env('CWBRIDGE_SANDBOX_PUBLIC_KEY')}",
    env("CWBRIDGE_SANDBOX_PRIVATE_KEY"),
)
session.headers["clientId"] = env("CWBRIDGE_SANDBOX_CLIENT_ID")
api = f"{env('CWBRIDGE_SANDBOX_URL')}/v4_6_release/apis/3.0/"
for path, model in {
    "company/companies": models.Company,
    "company/contacts": models.Contact,
    "company/communicationTypes": models.CommunicationType,
    "company/companies/statuses": models.CompanyStatus,
    "company/companies/types": models.CompanyType,
    "service/boards": models.ConnectWiseBoard,
    "service/priorities": models.TicketPriority,
    "service/tickets": models.Ticket,
    "finance/agreements": models.Agreement,
    "finance/agreements/types": models.AgreementType,
    "time/entries": models.TimeEntry,
}.items():
    answer = session.get(api + path + "/count", timeout=30)
    answer.raise_for_status()
    want, got = answer.json()["count"], model.objects.count()
    if want != got:
        print(f"FAIL {model.__name__}: {got} synced of the {want} ConnectWise counts")
        sys.exit(1)

# No row was refused by the database (django-connectwise logs and skips those), but for the
# configuration types its own bug above makes.
if not refusals.records:
    # The configuration types above are always refused: seeing none means the handler
    # missed django-connectwise's reports, and the check below would prove nothing.
    print("FAIL the check saw none of django-connectwise's refused rows")
    sys.exit(1)
refused = [r for r in refusals.records if "ConfigurationTypeTracker" not in r]
if refused:
    print("FAIL rows refused by the database:\n" + "\n".join(refused))
    sys.exit(1)
print("djconnectwise sync ok")
