// Drive connectwise-rest (unchanged) against a running cwbridge sandbox.
//
// Env: CWBRIDGE_SANDBOX_SITE (host:port; connectwise-rest always uses https://), optional
// CWBRIDGE_SANDBOX_CODEBASE (default v4_6_release; the library's entryPoint, it never asks
// /login/companyinfo), CWBRIDGE_SANDBOX_COMPANY, CWBRIDGE_SANDBOX_PUBLIC_KEY,
// CWBRIDGE_SANDBOX_PRIVATE_KEY, CWBRIDGE_SANDBOX_CLIENT_ID, NODE_EXTRA_CA_CERTS pointing at the
// sandbox's cert.pem, and NODE_PATH at the node_modules holding connectwise-rest.
'use strict'
const http = require('http')
const https = require('https')
const { ManageAPI, utils } = require('connectwise-rest')

const env = process.env
const cwm = new ManageAPI({
  companyId: env.CWBRIDGE_SANDBOX_COMPANY,
  publicKey: env.CWBRIDGE_SANDBOX_PUBLIC_KEY,
  privateKey: env.CWBRIDGE_SANDBOX_PRIVATE_KEY,
  clientId: env.CWBRIDGE_SANDBOX_CLIENT_ID,
  companyUrl: env.CWBRIDGE_SANDBOX_SITE,
  entryPoint: (env.CWBRIDGE_SANDBOX_CODEBASE || 'v4_6_release').replace(/\/+$/, ''),
  logger: () => {}, // the default logger prints every failed request, expected 404 included
})

async function step(name, fn) {
  try {
    const result = await fn()
    console.log(`ok   ${name}`)
    return result
  } catch (e) {
    const detail = e && e.status !== undefined ? `HTTP ${e.status} ${JSON.stringify(e.data)}` : String(e && e.message ? e.message : e)
    console.log(`FAIL ${name}: ${detail.replace(/\s+/g, ' ').slice(0, 400)}`)
    process.exit(1)
  }
}

function check(cond, what) {
  if (!cond) throw new Error(what)
}

// Callback deliveries land here: { body, signature }.
const deliveries = []
const receiver = http.createServer((req, res) => {
  let raw = ''
  req.on('data', (chunk) => (raw += chunk))
  req.on('end', () => {
    res.end()
    deliveries.push({ body: JSON.parse(raw), signature: req.headers['x-content-signature'] })
  })
})

function getJson(url) {
  return new Promise((resolve, reject) => {
    https.get(url, (res) => {
      let text = ''
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve(JSON.parse(text)))
    }).on('error', reject)
  })
}

async function main() {
  const { CompanyAPI, ServiceAPI } = cwm

  const acme = await step('list companies with conditions', async () => {
    const found = await CompanyAPI.getCompanyCompanies({ conditions: 'name like "A%"', orderBy: 'name asc' })
    const names = found.map((c) => c.name)
    check(names.join('|') === 'Acme Corporation|Adventure Works Cycles', `name like 'A%' gave ${names}`)
    const exact = await CompanyAPI.getCompanyCompanies({ conditions: 'identifier = "AcmeCorp"' })
    check(exact.length === 1 && exact[0].identifier === 'AcmeCorp', `identifier = gave ${exact.map((c) => c.identifier)}`)
    return exact[0]
  })

  const total = await step('count companies', async () => {
    const { count } = await CompanyAPI.getCompanyCompaniesCount()
    check(count === 29, `companies/count = ${count}, want 29`)
    const filtered = await CompanyAPI.getCompanyCompaniesCount({ conditions: 'name like "A%"' })
    check(filtered.count === 2, `count with conditions = ${filtered.count}, want 2`)
    return count
  })

  await step('paginate companies 5 per page with paginate()', async () => {
    const all = await cwm.paginate(CompanyAPI.getCompanyCompanies, { startPage: 1, pageSize: 5 }, {})
    const ids = new Set(all.map((c) => c.id))
    check(all.length === total && ids.size === total, `paginate gave ${all.length} (${ids.size} distinct)`)
    // A last page that is full makes paginate() ask for the page after it, which must be [].
    const two = await cwm.paginate(CompanyAPI.getCompanyCompanies, { pageSize: 1 }, { conditions: 'name like "A%"' })
    check(two.length === 2, `paginate with conditions, 1 per page, gave ${two.length}`)
  })

  await step('get company by id', async () => {
    const one = await CompanyAPI.getCompanyCompaniesById(acme.id)
    check(one.id === acme.id && one.name === 'Acme Corporation', `got ${one.id} ${one.name}`)
  })

  const board = await step('list service boards', async () => {
    const boards = await ServiceAPI.getServiceBoards()
    const helpDesk = boards.find((b) => b.name === 'Help Desk')
    check(helpDesk, `boards: ${boards.map((b) => b.name)}`)
    return helpDesk
  })

  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const callback = await step('register a ticket callback for the board', async () => {
    const url = `http://127.0.0.1:${receiver.address().port}/cw`
    const cb = await cwm.SystemAPI.postSystemCallbacks({ url, objectId: board.id, type: 'Ticket', level: 'Board', description: 'connectwise-rest check', inactiveFlag: false })
    check(cb.id && cb.url === url, `callback ${cb.id} ${cb.url}`)
    return cb
  })

  const ticket = await step('create ticket', async () => {
    const t = await ServiceAPI.postServiceTickets({ summary: 'connectwise-rest check', company: { id: acme.id }, board: { id: board.id } })
    check(t.id && t.summary === 'connectwise-rest check', `created ${t.id} ${t.summary}`)
    check(t.company.id === acme.id && t.board.id === board.id, `company ${JSON.stringify(t.company)} board ${JSON.stringify(t.board)}`)
    return t
  })

  await step('get ticket', async () => {
    const t = await ServiceAPI.getServiceTicketsById(ticket.id)
    check(t.id === ticket.id && t.summary === 'connectwise-rest check', `got ${t.id} ${t.summary}`)
    check(t.company.identifier === 'AcmeCorp' && t.board.name === 'Help Desk', `${JSON.stringify(t.company)} ${JSON.stringify(t.board)}`)
  })

  await step('patch ticket summary', async () => {
    const ops = [{ op: 'replace', path: 'summary', value: 'connectwise-rest check (patched)' }]
    const t = await ServiceAPI.patchServiceTicketsById(ticket.id, ops)
    check(t.summary === 'connectwise-rest check (patched)', `patch answered ${t.summary}`)
    const again = await ServiceAPI.getServiceTicketsById(ticket.id)
    check(again.summary === 'connectwise-rest check (patched)', `re-read ${again.summary}`)
  })

  await step('add and list ticket note', async () => {
    const n = await ServiceAPI.postServiceTicketsByParentIdNotes(ticket.id, { text: 'note from connectwise-rest', detailDescriptionFlag: true })
    check(n.id && n.text === 'note from connectwise-rest' && n.ticketId === ticket.id, `note ${n.id} ${n.text}`)
    const notes = await ServiceAPI.getServiceTicketsByParentIdNotes(ticket.id)
    check(notes.some((x) => x.id === n.id), `note ${n.id} not listed`)
  })

  await step('delete ticket (then 404)', async () => {
    await ServiceAPI.deleteServiceTicketsById(ticket.id)
    let status
    await ServiceAPI.getServiceTicketsById(ticket.id).catch((e) => { status = e.status })
    check(status === 404, `after delete GET answered ${status === undefined ? 'the ticket' : status}`)
  })

  const added = await step('callbacks arrive for the ticket (added, deleted)', async () => {
    for (let i = 0; i < 50 && !deliveries.some((d) => d.body.Action === 'deleted'); i++) await new Promise((r) => setTimeout(r, 100))
    receiver.close()
    const actions = deliveries.filter((d) => d.body.ID === ticket.id).map((d) => d.body.Action)
    check(actions.includes('added') && actions.includes('deleted'), `actions for ticket ${ticket.id}: ${actions}`)
    const first = deliveries.find((d) => d.body.Action === 'added')
    check(JSON.parse(first.body.Entity).summary === 'connectwise-rest check', 'Entity is not the new ticket')
    return first
  })

  await step('delete the callback registration', async () => {
    await cwm.SystemAPI.deleteSystemCallbacksById(callback.id)
  })

  await step('callback signature verifies (utils.Callback.verifyMessage)', async () => {
    // utils.Callback.verifyCallback fetches Metadata.key_url itself but JSON.parse()s the object
    // axios already parsed, so it throws whatever the server says; do its two steps here instead.
    const { signing_key } = await getJson(added.body.Metadata.key_url)
    check(utils.Callback.verifyMessage(added.body, added.signature, signing_key), `x-content-signature ${added.signature} does not verify with the key from ${added.body.Metadata.key_url}`)
  })

  console.log('connectwise-rest: all steps passed')
}

main().catch((e) => {
  console.log(`FAIL setup: ${e && e.message ? e.message : e}`)
  process.exit(1)
})
