//! `/api/openapi.json`: the API described for client generators and readers, generated from
//! the handlers' own types and annotations (utoipa), so the document cannot drift from them.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

/// Adds the bearer schemes the routes name.
struct Tokens;

impl Modify for Tokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, what) in [
            ("tenantToken", "A tenant's token, from POST /api/v1/tenants"),
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
