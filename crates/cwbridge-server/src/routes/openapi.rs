//! `/api/openapi.json`: the API described for client generators and readers, generated from
//! the handlers' own types and annotations (utoipa), so the document cannot drift from them.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;

/// The document's frame: its title, the two kinds of token, the error body.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cwbridge",
        description = "Connects a vendor's platform to ConnectWise Manage. Tenant routes take a tenant's token; tenant administration takes the operator token. Every error is {\"error\": {\"code\", \"message\", \"field\"?}}."
    ),
    components(schemas(ErrorBody)),
    modifiers(&Tokens)
)]
pub struct ApiDoc;

/// The scheme of the tenant routes: every operation that names no other takes it.
const TENANT_TOKEN: &str = "tenantToken";

/// Has every operation that names no token of its own take a tenant's: the tenant routes
/// are the rule and leave it unsaid; the operator's routes say `operatorToken`. Each
/// operation states its token in the document all the same.
pub(crate) fn tenant_token_by_default(document: &mut utoipa::openapi::OpenApi) {
    let tenant = SecurityRequirement::new(TENANT_TOKEN, Vec::<String>::new());
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation
                .security
                .get_or_insert_with(|| vec![tenant.clone()]);
        }
    }
}

/// Adds the bearer schemes the routes name.
struct Tokens;

impl Modify for Tokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, what) in [
            (TENANT_TOKEN, "A tenant's token, from POST /api/v1/tenants"),
            (
                "operatorToken",
                "The operator token from cwbridge's configuration",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(what))
                        .build(),
                ),
            );
        }
    }
}
