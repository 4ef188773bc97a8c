"""Reads every company with pyconnectwise (the client a Python integrator would use), for the
read benchmark: prints `records seconds peak_rss_kib cpu_seconds` on one line.

Env: CWBRIDGE_SANDBOX_SITE (host:port), CWBRIDGE_SANDBOX_COMPANY, CWBRIDGE_SANDBOX_PUBLIC_KEY,
CWBRIDGE_SANDBOX_PRIVATE_KEY, CWBRIDGE_SANDBOX_CLIENT_ID, REQUESTS_CA_BUNDLE.
"""

import os
import resource
import time

from pyconnectwise import ConnectWiseManageAPIClient

env = os.environ.get
cw = ConnectWiseManageAPIClient(
    env("CWBRIDGE_SANDBOX_COMPANY"),
    env("CWBRIDGE_SANDBOX_SITE"),
    env("CWBRIDGE_SANDBOX_CLIENT_ID"),
    env("CWBRIDGE_SANDBOX_PUBLIC_KEY"),
    env("CWBRIDGE_SANDBOX_PRIVATE_KEY"),
)
started = time.monotonic()
cpu_started = time.process_time()
seen = 0
for company in cw.company.companies.paginated(1, 1000).all():
    seen += 1
elapsed = time.monotonic() - started
cpu = time.process_time() - cpu_started
print(seen, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cpu)
