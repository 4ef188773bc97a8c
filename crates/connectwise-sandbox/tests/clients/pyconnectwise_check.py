"""Drive pyconnectwise (unchanged) against a running cwbridge sandbox.

Env: CWBRIDGE_SANDBOX_SITE (host:port; pyconnectwise always uses https://), CWBRIDGE_SANDBOX_COMPANY,
CWBRIDGE_SANDBOX_PUBLIC_KEY, CWBRIDGE_SANDBOX_PRIVATE_KEY, CWBRIDGE_SANDBOX_CLIENT_ID, and
REQUESTS_CA_BUNDLE pointing at the sandbox's cert.pem.
"""

import os

from pyconnectwise import ConnectWiseManageAPIClient
from pyconnectwise.exceptions import NotFoundException, ObjectExistsError

from steps import check, step

env = os.environ.get


# The client reads the codebase from /login/companyinfo/{company} when none is passed.
cw = step(
    "connect (codebase from /login/companyinfo)",
    lambda: ConnectWiseManageAPIClient(
        env("CWBRIDGE_SANDBOX_COMPANY"),
        env("CWBRIDGE_SANDBOX_SITE"),
        env("CWBRIDGE_SANDBOX_CLIENT_ID"),
        env("CWBRIDGE_SANDBOX_PUBLIC_KEY"),
        env("CWBRIDGE_SANDBOX_PRIVATE_KEY"),
    ),
)
companies = cw.company.companies


def list_filtered():
    found = companies.get(params={"conditions": 'name like "A%"', "orderBy": "name asc"})
    names = [c.name for c in found]
    check(names == ["Acme Corporation", "Adventure Works Cycles"], f"name like 'A%' gave {names}")
    exact = companies.get(params={"conditions": 'identifier = "AcmeCorp"'})
    check([c.identifier for c in exact] == ["AcmeCorp"], f"identifier = gave {[c.identifier for c in exact]}")
    return exact[0]


acme = step("list companies with conditions", list_filtered)


def count():
    total = companies.count.get().count
    check(total == 29, f"companies/count = {total}, want 29")
    filtered = companies.count.get(params={"conditions": 'name like "A%"'}).count
    check(filtered == 2, f"count with conditions = {filtered}, want 2")
    return total


total = step("count companies", count)


def paginate():
    first = companies.paginated(1, 5)
    check(first.has_next_page and first.next_page == 2, f"page 1 links: next={first.next_page}")
    check(first.last_page == 6, f"rel=last page {first.last_page}, want 6")
    ids = [c.id for c in first.all()]
    check(len(ids) == total and len(set(ids)) == total, f"all() gave {len(ids)} ids ({len(set(ids))} distinct)")


step("paginate companies 5 per page with all()", paginate)


def get_one():
    one = companies.id(acme.id).get()
    check(one.id == acme.id and one.name == "Acme Corporation", f"got {one.id} {one.name}")


step("get company by id", get_one)


def boards():
    found = cw.service.boards.get()
    by_name = {b.name: b for b in found}
    check("Help Desk" in by_name, f"boards: {sorted(by_name)}")
    return by_name["Help Desk"]


board = step("list service boards", boards)
tickets = cw.service.tickets


def create():
    t = tickets.post(
        data={"summary": "pyconnectwise check", "company": {"id": acme.id}, "board": {"id": board.id}}
    )
    check(t.id and t.summary == "pyconnectwise check", f"created {t.id} {t.summary!r}")
    check(t.company.id == acme.id and t.board.id == board.id, f"company {t.company} board {t.board}")
    return t


ticket = step("create ticket", create)


def get_ticket():
    t = tickets.id(ticket.id).get()
    check(t.id == ticket.id and t.summary == "pyconnectwise check", f"got {t.id} {t.summary!r}")
    check(t.company.identifier == "AcmeCorp" and t.board.name == "Help Desk", f"{t.company} {t.board}")


step("get ticket", get_ticket)


def patch():
    ops = [{"op": "replace", "path": "summary", "value": "pyconnectwise check (patched)"}]
    t = tickets.id(ticket.id).patch(data=ops)
    check(t.summary == "pyconnectwise check (patched)", f"patch answered {t.summary!r}")
    again = tickets.id(ticket.id).get()
    check(again.summary == "pyconnectwise check (patched)", f"re-read {again.summary!r}")


step("patch ticket summary", patch)


def note():
    notes = tickets.id(ticket.id).notes
    n = notes.post(data={"text": "note from pyconnectwise", "detailDescriptionFlag": True})
    check(n.id and n.text == "note from pyconnectwise" and n.ticket_id == ticket.id, f"note {n.id} {n.text!r}")
    listed = notes.get()
    check(n.id in [x.id for x in listed], f"note {n.id} not in {[x.id for x in listed]}")


step("add and list ticket note", note)


def delete():
    tickets.id(ticket.id).delete()
    try:
        tickets.id(ticket.id).get()
    except NotFoundException:
        return
    raise AssertionError("ticket still readable after delete")


step("delete ticket (then 404)", delete)


def duplicate_company():
    # pyconnectwise turns 400 InvalidObject with an ObjectExists field error into ObjectExistsError.
    dup = {"identifier": "AcmeCorp", "name": "Acme again", "site": {"name": "Main"}, "status": {"id": 1}, "types": [{"id": 1}]}
    try:
        created = companies.post(data=dup)
    except ObjectExistsError:
        return
    raise AssertionError(f"a second AcmeCorp was created (id {created.id})")


step("create a duplicate company (ObjectExistsError)", duplicate_company)
print("pyconnectwise: all steps passed")
