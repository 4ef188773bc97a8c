//! The URLs' path segments, each a newtype that [`ApiPath`](crate::extract::ApiPath) reads and
//! the document describes: declared once here, named and described the same on every route.

/// Declares path segments: `Name(type) = "segment", "description";`, each read from the URL
/// as its type and listed in the document as the required path parameter `segment`.
macro_rules! path_params {
    ($($(#[$doc:meta])* $name:ident($ty:ident) = $segment:tt, $description:tt;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
        #[into_params(names($segment), parameter_in = Path)]
        pub struct $name(#[doc = $description] pub $ty);
    )*};
}

path_params! {
    /// The `{id}` of `/api/v1/accounts/{id}…`.
    AccountId(String) = "id", "The vendor's id for the account";
    /// The `{id}` of `/api/v1/alerts/{id}…`.
    AlertId(i64) = "id", "The alert's id";
    /// The `{type}` of `/api/v1/alert-types/{type}`.
    AlertType(String) = "type", "The alert type, e.g. dmarc-record-changed";
    /// The `{id}` of `/api/v1/billing/runs/{id}`.
    RunId(i64) = "id", "The run's id";
    /// The `{id}` of `/api/v1/lookups/companies/{id}/agreements`.
    CompanyId(i64) = "id", "The company's id";
    /// The `{id}` of `/api/v1/tenants/{id}/…`.
    TenantNumber(i64) = "id", "The tenant's id";
}
