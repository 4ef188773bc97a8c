//! `/api/openapi.json`: the API described for client generators and readers.

use axum::Json;
use cwbridge_engine::billing::settings::MAX_SCHEDULE_HOURS;
use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The OpenAPI 3.1 document of the `/api/v1` routes.
pub fn spec() -> Value {
    let tenant_auth = json!([{"tenantToken": []}]);
    let operator_auth = json!([{"operatorToken": []}]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cwbridge",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Connects a vendor's platform to ConnectWise Manage. Tenant routes take a tenant's token; tenant administration takes the operator token. Every error is {\"error\": {\"code\", \"message\", \"field\"?}}."
        },
        "components": {
            "securitySchemes": {
                "tenantToken": {"type": "http", "scheme": "bearer", "description": "A tenant's token, from POST /api/v1/tenants"},
                "operatorToken": {"type": "http", "scheme": "bearer", "description": "The operator token from cwbridge's configuration"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string", "description": "the field at fault, when one is"}}}}},
                "ConnectionInput": {"type": "object", "additionalProperties": false, "required": ["site", "companyId", "publicKey"], "properties": {
                    "site": {"type": "string", "examples": ["na.myconnectwise.net"]},
                    "companyId": {"type": "string"}, "publicKey": {"type": "string"},
                    "privateKey": {"type": "string", "writeOnly": true, "description": "required the first time; empty or absent keeps the saved one"}, "clientId": {"type": "string", "description": "empty or absent: the bridge's own (--client-id)"}}},
                "Connection": {"type": "object", "properties": {
                    "site": {"type": "string"}, "companyId": {"type": "string"}, "publicKey": {"type": "string"},
                    "clientId": {"type": "string"}, "updatedAt": {"type": "integer", "description": "Unix ms"}}},
                "CheckReport": {"type": "object", "properties": {
                    "ok": {"type": "boolean"}, "checkedAt": {"type": "integer"},
                    "steps": {"type": "array", "items": {"type": "object", "properties": {
                        "name": {"enum": ["reach", "authenticate", "permissions"]}, "ok": {"type": "boolean"},
                        "message": {"type": "string"}, "hints": {"type": "array", "items": {"type": "string"}}}}},
                    "codebase": {"type": ["string", "null"]}, "version": {"type": ["string", "null"]},
                    "permissions": {"type": "array", "items": {"type": "object", "properties": {
                        "module": {"type": "string"}, "function": {"type": "string"},
                        "action": {"enum": ["Inquire", "Add", "Edit", "Delete"]}, "level": {"type": "string"},
                        "status": {"enum": ["granted", "missing", "unverified"]}, "detail": {"type": "string"}}}}}},
                "Mapping": {"type": "object", "properties": {"companyId": {"type": "integer"}, "companyName": {"type": "string"}, "agreementId": {"type": ["integer", "null"]}}},
                "Account": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "units": {"type": "array", "items": {"type": "string"}}, "alertTypes": {"type": "array", "items": {"type": "string"}},
                    "mapping": {"oneOf": [{"$ref": "#/components/schemas/Mapping"}, {"type": "null"}]}}},
                "Alert": {"type": "object", "properties": {"id": {"type": "integer"}, "account": {"type": "string"}, "type": {"type": "string"}, "key": {"type": "string"},
                    "summary": {"type": "string"}, "resolved": {"type": "boolean"}, "state": {"enum": ["queued", "delivered", "skipped", "failed"]},
                    "ticketId": {"type": ["integer", "null"]}, "action": {"type": ["string", "null"]}, "attempts": {"type": "integer"},
                    "lastError": {"type": ["string", "null"]}, "createdAt": {"type": "integer"}, "updatedAt": {"type": "integer"}}},
                "Tenant": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "createdAt": {"type": "integer"}}}
            }
        },
        "paths": {
            "/api/v1/tenants": {
                "post": {"summary": "Make a tenant; its token is in the answer and nowhere else", "security": operator_auth,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}},
                    "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {"allOf": [{"$ref": "#/components/schemas/Tenant"}, {"type": "object", "properties": {"token": {"type": "string"}}}]}}}},
                        "400": error_response("the body is not JSON of this shape; the field is named"), "422": error_response("a field is wrong"), "401": error_response("no or wrong operator token"), "409": error_response("the name is taken")}},
                "get": {"summary": "List tenants", "security": operator_auth,
                    "responses": {"200": {"description": "the tenants", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Tenant"}}}}}, "401": error_response("no or wrong operator token")}}
            },
            "/api/v1/tenants/{id}/networks": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "put": {"summary": "Set the networks this tenant's ConnectWise may be in beyond public addresses (an on-premise server over a private link), for this tenant alone; an empty list clears them", "security": operator_auth,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["networks"], "properties": {"networks": {"type": "array", "maxItems": 16, "items": {"type": "string", "description": "a CIDR (10.20.0.0/16) or one address"}}}}}}},
                    "responses": {"200": {"description": "the networks, as stored", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "integer"}, "networks": {"type": "array", "items": {"type": "string"}}}}}}},
                        "400": error_response("the body is not JSON of this shape; the field is named"), "401": error_response("no or wrong operator token"), "404": error_response("no such tenant"), "422": error_response("not a network, or more than 16; the field is named")}}
            },
            "/api/v1/tenants/{id}/token": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "post": {"summary": "Rotate the tenant's token: a new one, shown once; the old ones stop working (other instances within 30 s) and the tenant's wizard sessions end", "security": operator_auth,
                    "responses": {"200": {"description": "the new token", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "integer"}, "token": {"type": "string"}}}}}},
                        "400": error_response("the id is not a number"), "401": error_response("no or wrong operator token"), "404": error_response("no such tenant")}},
                "delete": {"summary": "Disable the tenant: every token revoked and every session ended, its data kept; POST gives it a token again", "security": operator_auth,
                    "responses": {"204": {"description": "disabled"}, "400": error_response("the id is not a number"), "401": error_response("no or wrong operator token"), "404": error_response("no such tenant")}}
            },
            "/api/v1/connection": {
                "put": {"summary": "Save the ConnectWise connection and check it", "security": tenant_auth,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConnectionInput"}}}},
                    "responses": {"200": {"description": "saved (even when the check fails)", "content": {"application/json": {"schema": {"type": "object", "properties": {"connection": {"$ref": "#/components/schemas/Connection"}, "check": {"$ref": "#/components/schemas/CheckReport"}}}}}},
                        "400": error_response("the body is not JSON of this shape; the field is named"), "422": error_response("a field is wrong"), "401": error_response("no or wrong tenant token")}},
                "get": {"summary": "The saved connection (never the private key) and its last check", "security": tenant_auth,
                    "responses": {"200": {"description": "the connection", "content": {"application/json": {"schema": {"type": "object", "properties": {"connection": {"$ref": "#/components/schemas/Connection"}, "check": {"oneOf": [{"$ref": "#/components/schemas/CheckReport"}, {"type": "null"}]}}}}}},
                        "401": error_response("no or wrong tenant token"), "404": error_response("no connection saved yet")}}
            },
            "/api/v1/accounts": {
                "get": {"summary": "Every account with its units and mapping", "security": tenant_auth,
                    "responses": {"200": {"description": "the accounts", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}}}}, "401": error_response("no or wrong tenant token")}}
            },
            "/api/v1/accounts/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "the vendor's id for the account (no `/`)"}],
                "put": {"summary": "Set an account and its whole unit list (idempotent; units not listed are gone)", "security": tenant_auth,
                    "description": "Limits (configurable by the operator): 100,000 accounts a tenant, a name of 200 characters, 10,000 units of 253 characters, 200 alert types of 100 characters.",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["name", "units"], "properties": {"name": {"type": "string", "maxLength": 200}, "units": {"type": "array", "maxItems": 10000, "items": {"type": "string", "maxLength": 253}}, "alertTypes": {"type": "array", "maxItems": 200, "items": {"type": "string", "maxLength": 100}, "description": "the alert types configured for it on the vendor's side; step 4 of the wizard offers them"}}}}}},
                    "responses": {"200": {"description": "the account", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}}, "400": error_response("the body is not JSON of this shape; the field is named"), "422": error_response("a field is wrong or over its limit; the field is named"), "401": error_response("no or wrong tenant token"), "413": error_response("the body is larger than 2 MiB")}},
                "delete": {"summary": "Remove an account (its lines are cancelled by the next billing run)", "security": tenant_auth,
                    "responses": {"204": {"description": "removed"}, "401": error_response("no or wrong tenant token"), "404": error_response("no such account")}}
            },
            "/api/v1/accounts/{id}/mapping": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "put": {"summary": "Map the account to a ConnectWise company, optionally with an agreement of it", "security": tenant_auth,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["companyId"], "properties": {"companyId": {"type": "integer"}, "agreementId": {"type": ["integer", "null"]}}}}}},
                    "responses": {"200": {"description": "the mapping", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Mapping"}}}}, "400": error_response("the body is not JSON of this shape; the field is named"), "422": error_response("no such company, or an agreement of another company"), "404": error_response("no such account")}},
                "delete": {"summary": "Unmap the account", "security": tenant_auth,
                    "responses": {"204": {"description": "unmapped"}, "404": error_response("not mapped")}}
            },
            "/api/v1/mappings": {
                "get": {"summary": "Every account with its mapping, or up to five suggested companies with the reasons (never applied without a PUT)", "security": tenant_auth,
                    "responses": {"200": {"description": "the rows", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "properties": {
                        "account": {"$ref": "#/components/schemas/Account"},
                        "suggestions": {"type": "array", "items": {"type": "object", "properties": {"companyId": {"type": "integer"}, "companyName": {"type": "string"}, "score": {"type": "number"}, "reasons": {"type": "array", "items": {"type": "string"}}}}}}}}}}}}}
            },
            "/api/v1/billing": {
                "put": {"summary": "Billing & product: the catalog product, the default agreement type, the mode and the drift policy", "security": tenant_auth,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["product", "agreementType", "mode"], "properties": {
                        "product": {"type": "string", "description": "catalog identifier or id"}, "agreementType": {"type": "string", "description": "name or id"},
                        "mode": {"enum": ["per_unit", "bundled", "not_billable"]}, "driftPolicy": {"enum": ["report", "correct", "adopt"]},
                        "scheduleHours": {"type": "integer", "minimum": 0, "maximum": MAX_SCHEDULE_HOURS, "description": "apply on its own every this many hours (full plans); 0: on demand only"}}}}}},
                    "responses": {"200": {"description": "the settings"}, "400": error_response("the body is not JSON of this shape; the field is named"), "422": error_response("not in the catalog, or no such agreement type")}},
                "get": {"summary": "The billing settings", "security": tenant_auth,
                    "responses": {"200": {"description": "the settings"}, "404": error_response("not set up")}}
            },
            "/api/v1/billing/plan": {
                "get": {"summary": "What apply would change: creates, updates, cancels, drift, with quantities and amounts; problems per account", "security": tenant_auth,
                    "parameters": [{"name": "full", "in": "query", "schema": {"type": "boolean"}, "description": "read every agreement with lines (finds hand edits everywhere)"}],
                    "responses": {"200": {"description": "the plan"}, "404": error_response("billing not set up")}}
            },
            "/api/v1/billing/apply": {
                "post": {"summary": "Carry the plan out (idempotent; one run per tenant at a time)", "security": tenant_auth,
                    "parameters": [{"name": "full", "in": "query", "schema": {"type": "boolean"}, "description": "plan from every agreement with lines: carries out drift corrections, follows replaced agreements"}],
                    "responses": {"200": {"description": "what was done"}, "409": error_response("a run is already going")}}
            },
            "/api/v1/billing/runs": {
                "get": {"summary": "The latest billing runs", "security": tenant_auth, "responses": {"200": {"description": "the runs"}}}
            },
            "/api/v1/billing/runs/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"summary": "One run's changes, in order (the audit)", "security": tenant_auth,
                    "responses": {"200": {"description": "the changes"}, "404": error_response("no such run")}}
            },
            "/api/v1/alerts": {
                "post": {"summary": "Receive an alert: stored durably before the answer, then delivered as a ticket (or a note on the open ticket of its key)", "security": tenant_auth,
                    "description": "Send an `Idempotency-Key` (1 to 255 visible ASCII characters, e.g. a UUID) and retry freely: a resend with a key this tenant used before stores nothing and answers 202 with the alert stored then, marked `Idempotent-Replayed: true`, across instances and restarts, for as long as the alert is kept. Limits: account 200 characters, type 100, key 500, summary 1,000, description 65,536; 100,000 alerts queued per tenant; bodies up to 2 MiB (all configurable by the operator).",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["account", "type", "summary", "description"], "properties": {
                        "account": {"type": "string", "maxLength": 200}, "type": {"type": "string", "maxLength": 100}, "key": {"type": "string", "maxLength": 500, "description": "repeats with the same key are the same alert (default: account and type)"},
                        "summary": {"type": "string", "maxLength": 1000}, "description": {"type": "string", "maxLength": 65536}, "resolved": {"type": "boolean"}}}}}},
                    "responses": {"202": {"description": "stored and queued (or, for a repeated Idempotency-Key, the alert stored the first time)", "headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Alert"}}}},
                        "400": error_response("the body is not JSON of this shape; the field is named"), "422": error_response("a value is over its limit or empty; the field is named"),
                        "409": error_response("the Idempotency-Key was used for another alert"), "413": error_response("the body is larger than 2 MiB"),
                        "429": error_response("the tenant's queue is full; Retry-After says when to try again"), "503": error_response("busy; nothing was stored; Retry-After says when to try again")}},
                "get": {"summary": "Alerts with their delivery state, newest first; a full page carries `Link: <…>; rel=\"next\"`", "security": tenant_auth,
                    "parameters": [
                        {"name": "before", "in": "query", "required": false, "schema": {"type": "integer"}, "description": "the cursor: only alerts with smaller ids (the last id of the previous page)"},
                        {"name": "state", "in": "query", "required": false, "schema": {"enum": ["queued", "delivered", "skipped", "failed"]}},
                        {"name": "type", "in": "query", "required": false, "schema": {"type": "string"}},
                        {"name": "account", "in": "query", "required": false, "schema": {"type": "string"}},
                        {"name": "since", "in": "query", "required": false, "schema": {"type": "integer"}, "description": "received at or after (Unix ms)"},
                        {"name": "until", "in": "query", "required": false, "schema": {"type": "integer"}, "description": "received before (Unix ms)"},
                        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200}}],
                    "responses": {"200": {"description": "the alerts", "headers": {"Link": {"schema": {"type": "string"}, "description": "the next page, when this one is full"}}, "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}}}},
                        "400": error_response("a query value is not of its type"), "422": error_response("an unknown state")}}
            },
            "/api/v1/alerts/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"summary": "One alert", "security": tenant_auth, "responses": {"200": {"description": "the alert", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Alert"}}}}, "404": error_response("no such alert")}}
            },
            "/api/v1/alerts/{id}/retry": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "post": {"summary": "Queue a failed alert again", "security": tenant_auth, "responses": {"200": {"description": "queued"}, "409": error_response("it has not failed")}}
            },
            "/api/v1/tickets": {
                "put": {"summary": "Tickets & alerts: default board, status (of the board), priority, type (of the board), note signature", "security": tenant_auth,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["board", "status", "priority"], "properties": {
                        "board": {"type": "string"}, "status": {"type": "string"}, "priority": {"type": "string"}, "type": {"type": "string"}, "signature": {"type": "string"}}}}}},
                    "responses": {"200": {"description": "the settings"}, "400": error_response("the body is not JSON of this shape; the field is named"), "422": error_response("no such board, or a status/type of another board")}},
                "get": {"summary": "The ticket defaults", "security": tenant_auth, "responses": {"200": {"description": "the settings"}, "404": error_response("not set up")}}
            },
            "/api/v1/accounts/{id}/alerts": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "put": {"summary": "Which alert types this account forwards ([\"*\"] for all, the default; [] for none)", "security": tenant_auth,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["types"], "properties": {"types": {"type": "array", "items": {"type": "string"}}}}}}},
                    "responses": {"200": {"description": "saved"}, "404": error_response("no such account")}}
            },
            "/api/v1/alert-types/{type}": {
                "parameters": [{"name": "type", "in": "path", "required": true, "schema": {"type": "string"}}],
                "put": {"summary": "An alert type's policy: a note when it resolves; a new ticket or a reopen when it recurs after its ticket was closed", "security": tenant_auth,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {"noteOnResolve": {"type": "boolean"}, "recurAfterClose": {"enum": ["new", "reopen"]}}}}}},
                    "responses": {"200": {"description": "saved"}, "400": error_response("the body is not JSON of this shape; the field is named"), "422": error_response("a field is wrong")}}
            },
            "/api/v1/lookups/companies": {
                "get": {"summary": "Companies whose name or identifier contains `search` (up to 50)", "security": tenant_auth,
                    "parameters": [{"name": "search", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "[{id, identifier, name}]"}}}
            },
            "/api/v1/lookups/companies/{id}/agreements": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"summary": "A company's agreements", "security": tenant_auth, "responses": {"200": {"description": "[{id, name, company, type, status, cancelled}]"}}}
            },
            "/api/v1/lookups/agreement-types": {
                "get": {"summary": "Agreement types", "security": tenant_auth, "responses": {"200": {"description": "[{id, name}]"}}}
            },
            "/api/v1/lookups/catalog": {
                "get": {"summary": "Active catalog products whose identifier or description contains `search` (up to 50)", "security": tenant_auth,
                    "parameters": [{"name": "search", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "[{id, identifier, description, price}]"}}}
            },
            "/api/v1/lookups/boards": {
                "get": {"summary": "Service boards with their statuses and ticket types", "security": tenant_auth, "responses": {"200": {"description": "[{id, name, statuses, types}]"}}}
            },
            "/api/v1/lookups/priorities": {
                "get": {"summary": "Priorities", "security": tenant_auth, "responses": {"200": {"description": "[{id, name}]"}}}
            },
            "/api/v1/connection/check": {
                "post": {"summary": "Check the saved connection again", "security": tenant_auth,
                    "responses": {"200": {"description": "the report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckReport"}}}},
                        "401": error_response("no or wrong tenant token"), "404": error_response("no connection saved yet")}},
                "get": {"summary": "The last check", "security": tenant_auth,
                    "responses": {"200": {"description": "the report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckReport"}}}},
                        "401": error_response("no or wrong tenant token"), "404": error_response("not checked yet")}}
            },
            "/api/v1/connection/failures": {
                "get": {"summary": "ConnectWise's recent error and rate-limit answers (and attempts that got none), newest first, as any instance got them", "security": tenant_auth,
                    "responses": {"200": {"description": "[{at, method, path, status, message, retrying}]"}, "401": error_response("no or wrong tenant token")}}
            }
        }
    })
}

/// `GET /api/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec())
}
