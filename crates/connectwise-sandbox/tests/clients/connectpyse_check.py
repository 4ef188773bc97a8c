"""Drive connectpyse (unchanged) against a running cwbridge sandbox.

Env: CWBRIDGE_SANDBOX_URL (https://host:port), optional CWBRIDGE_SANDBOX_CODEBASE (default
v4_6_release; connectpyse takes the whole API URL and never asks /login/companyinfo),
CWBRIDGE_SANDBOX_COMPANY, CWBRIDGE_SANDBOX_PUBLIC_KEY, CWBRIDGE_SANDBOX_PRIVATE_KEY,
CWBRIDGE_SANDBOX_CLIENT_ID, and REQUESTS_CA_BUNDLE pointing at the sandbox's cert.pem.
"""

import base64
import os

from connectpyse.company import companies_api, contacts_api
from connectpyse.service import boards_api, ticket, ticket_note, ticket_notes_api, tickets_api
from connectpyse.restapi import ApiError

from steps import check, step

env = os.environ.get
codebase = env("CWBRIDGE_SANDBOX_CODEBASE", "v4_6_release").strip("/")
# As connectpyse's README sets it up: the API URL and a dict of headers.
URL = f"{env('CWBRIDGE_SANDBOX_URL').rstrip('/')}/{codebase}/apis/3.0"
user = f"{env('CWBRIDGE_SANDBOX_COMPANY')}+{env('CWBRIDGE_SANDBOX_PUBLIC_KEY')}:{env('CWBRIDGE_SANDBOX_PRIVATE_KEY')}"
AUTH = {
    "Authorization": "Basic " + base64.b64encode(user.encode()).decode(),
    "clientId": env("CWBRIDGE_SANDBOX_CLIENT_ID"),
}


def list_filtered():
    api = companies_api.CompaniesAPI(url=URL, auth=AUTH)
    api.conditions = 'name like "A%"'
    api.orderBy = "name asc"
    names = [c.name for c in api.get_companies()]
    check(names == ["Acme Corporation", "Adventure Works Cycles"], f"name like 'A%' gave {names}")
    api.conditions = 'identifier = "AcmeCorp"'
    api.orderBy = ""
    exact = list(api.get_companies())
    check([c.identifier for c in exact] == ["AcmeCorp"], f"identifier = gave {[c.identifier for c in exact]}")
    return exact[0]


acme = step("list companies with conditions", list_filtered)


def count():
    api = companies_api.CompaniesAPI(url=URL, auth=AUTH)
    total = api.get_companies_count()
    check(total == 29, f"companies/count = {total}, want 29")
    api.conditions = 'name like "A%"'
    check(api.get_companies_count() == 2, "count with conditions != 2")
    return total


total = step("count companies", count)


def paginate():
    # connectpyse has no pager: set page/pageSize and ask until a short page comes back.
    api = companies_api.CompaniesAPI(url=URL, auth=AUTH)
    api.pageSize = 5
    ids, page = [], 1
    while True:
        api.page = page
        got = [c.id for c in api.get_companies()]
        ids += got
        if len(got) < 5:
            break
        page += 1
    check(page == 6 and len(ids) == total and len(set(ids)) == total, f"{page} pages, {len(set(ids))} distinct ids")


step("paginate companies 5 per page", paginate)


def get_one():
    one = companies_api.CompaniesAPI(url=URL, auth=AUTH).get_company_by_id(acme.id)
    check(one.id == acme.id and one.name == "Acme Corporation", f"got {one.id} {one.name}")


step("get company by id", get_one)


def child_conditions():
    # connectpyse sends the parameter as lower-case "childconditions".
    api = contacts_api.ContactsAPI(url=URL, auth=AUTH)
    api.childconditions = 'communicationItems/value like "%@acme.example"'
    found = list(api.get_contacts())
    check(found and all(c.company["id"] == acme.id for c in found), f"contacts {[c.id for c in found]}")


step("list contacts with childconditions", child_conditions)


def boards():
    by_name = {b.name: b for b in boards_api.BoardsAPI(url=URL, auth=AUTH).get_boards()}
    check("Help Desk" in by_name, f"boards: {sorted(by_name)}")
    return by_name["Help Desk"]


board = step("list service boards", boards)
tickets = tickets_api.TicketsAPI(url=URL, auth=AUTH)


def create():
    new = ticket.Ticket({"summary": "connectpyse check", "company": {"id": acme.id}, "board": {"id": board.id}})
    t = tickets.create_ticket(new)
    check(t.id and t.summary == "connectpyse check", f"created {t.id} {t.summary!r}")
    check(t.company["id"] == acme.id and t.board["id"] == board.id, f"company {t.company} board {t.board}")
    return t


created = step("create ticket", create)


def get_ticket():
    t = tickets.get_ticket_by_id(created.id)
    check(t.id == created.id and t.summary == "connectpyse check", f"got {t.id} {t.summary!r}")
    check(t.company["identifier"] == "AcmeCorp" and t.board["name"] == "Help Desk", f"{t.company} {t.board}")


step("get ticket", get_ticket)


def update():
    t = tickets.update_ticket(created.id, "summary", "connectpyse check (patched)")
    check(t.summary == "connectpyse check (patched)", f"patch answered {t.summary!r}")
    t = tickets.update_ticket_multiple_keys(created.id, {"summary": "connectpyse check (2)", "budgetHours": 0.5})
    check(t.summary == "connectpyse check (2)" and t.budgetHours == 0.5, f"{t.summary!r} {t.budgetHours}")


step("patch ticket summary (one key, then several)", update)


def note():
    notes = ticket_notes_api.TicketNotesAPI(ticket_id=created.id, url=URL, auth=AUTH)
    n = notes.create_ticket_note(ticket_note.TicketNote({"text": "note from connectpyse", "detailDescriptionFlag": True}))
    check(n.id and n.text == "note from connectpyse" and n.ticketId == created.id, f"note {n.id} {n.text!r}")
    check(n.id in [x.id for x in notes.get_ticket_notes()], "note not listed")
    check(notes.get_ticket_notes_count() >= 1, "notes/count < 1")


step("add, list and count ticket notes", note)


def delete():
    tickets.delete_ticket_by_id(created.id)
    try:
        tickets.get_ticket_by_id(created.id)
    except ApiError as e:
        check("Return code: 404" in str(e), f"after delete: {e}")
        return
    raise AssertionError("ticket still readable after delete")


step("delete ticket (then 404)", delete)
print("connectpyse: all steps passed")
