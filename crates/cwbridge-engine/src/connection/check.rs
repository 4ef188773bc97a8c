//! Checking a saved connection: reach and codebase, the keys, every permission the enabled
//! features need, each failure with the hint that fixes it.

use super::*;

impl Engine {
    /// Checks a tenant's saved connection and records the report.
    pub async fn check_connection(&self, tenant: TenantId) -> Result<CheckReport> {
        let stored = self.stored_connection(tenant).await?;
        let report = match self.client_with(tenant, false, QUICK_RETRIES).await {
            Ok(client) => self.run_check(&client, &stored).await,
            Err(EngineError::ConnectWise(e)) => CheckReport {
                ok: false,
                checked_at: now_ms(),
                steps: vec![Step {
                    name: "reach".into(),
                    ok: false,
                    message: e.to_string(),
                    hints: self.reach_hints(&e, &stored),
                }],
                codebase: None,
                version: None,
                permissions: Vec::new(),
            },
            Err(e) => return Err(e),
        };
        let json = serde_json::to_string(&report).unwrap_or_default();
        self.store.record_check(tenant, report.ok, &json).await?;
        tracing::info!(tenant.id = %tenant, ok = report.ok, "connection checked");
        Ok(report)
    }

    /// The latest check of a tenant's connection.
    pub async fn last_check(&self, tenant: TenantId) -> Result<Option<CheckReport>> {
        let Some(record) = self.store.last_check(tenant).await? else {
            return Ok(None);
        };
        serde_json::from_str(&record.report)
            .map(Some)
            .map_err(|e| EngineError::Store(cwbridge_store::StoreError::Corrupt(e.to_string())))
    }

    pub(super) async fn run_check(
        &self,
        client: &Client,
        stored: &StoredConnection,
    ) -> CheckReport {
        let mut report = CheckReport {
            ok: false,
            checked_at: now_ms(),
            steps: Vec::new(),
            codebase: None,
            version: None,
            permissions: Vec::new(),
        };
        // 1. Reach the site and find the codebase.
        match client.codebase().await {
            Ok(codebase) => {
                report.steps.push(Step {
                    name: "reach".into(),
                    ok: true,
                    message: format!("{} answers; codebase {codebase}", stored.site),
                    hints: Vec::new(),
                });
                report.codebase = Some(codebase);
            }
            Err(e) => {
                report.steps.push(Step {
                    name: "reach".into(),
                    ok: false,
                    message: e.to_string(),
                    hints: self.reach_hints(&e, stored),
                });
                return report;
            }
        }
        // 2. The keys.
        match client.system().info().await {
            Ok(info) => {
                report.version = info.version;
                report.steps.push(Step {
                    name: "authenticate".into(),
                    ok: true,
                    message: format!("the API key of company {} is accepted", stored.company_id),
                    hints: Vec::new(),
                });
            }
            Err(e) if e.kind() == ErrorKind::Authentication => {
                report.steps.push(Step {
                    name: "authenticate".into(),
                    ok: false,
                    message: "ConnectWise does not accept the public/private key pair, the company id or the clientId".into(),
                    hints: vec![
                        format!("check that the key belongs to an API member of company `{}`", stored.company_id),
                        "the private key is shown once, when the key is made: if unsure, make a new key (System > Members > API Members > the member > API Keys)".into(),
                        "check the clientId (ConnectWise's developer portal)".into(),
                    ],
                });
                return report;
            }
            // system/info may itself be guarded; the keys were accepted if it was not a 401.
            Err(e) if e.kind() == ErrorKind::Permission => report.steps.push(Step {
                name: "authenticate".into(),
                ok: true,
                message: format!("the API key of company {} is accepted", stored.company_id),
                hints: Vec::new(),
            }),
            Err(e) => {
                report.steps.push(Step {
                    name: "authenticate".into(),
                    ok: false,
                    message: e.to_string(),
                    hints: Vec::new(),
                });
                return report;
            }
        }
        // 3. The role.
        report.permissions = preflight::check(client, &self.config.features).await;
        let missing = report.missing().count();
        report.steps.push(Step {
            name: "permissions".into(),
            ok: missing == 0,
            message: if missing == 0 {
                "the security role grants everything the enabled features need".into()
            } else {
                format!("the security role lacks {missing} permission(s) the enabled features need")
            },
            hints: report.missing().map(|p| p.detail.clone()).collect(),
        });
        report.ok = report.steps.iter().all(|s| s.ok);
        report
    }

    pub(super) fn reach_hints(
        &self,
        e: &connectwise_client::Error,
        stored: &StoredConnection,
    ) -> Vec<String> {
        let mut hints = Vec::new();
        match e.kind() {
            ErrorKind::Config if e.to_string().contains("company id") => {
                hints.push(format!(
                    "check the company id `{}`: it is the one typed at ConnectWise's login",
                    stored.company_id
                ));
                hints.push("check that the site is your ConnectWise's (cloud: e.g. na.myconnectwise.net, eu.myconnectwise.net, au.myconnectwise.net)".into());
            }
            ErrorKind::Refused => hints.push(
                "a ConnectWise reached over a private link needs the bridge's operator to allow its network (--allow-network)".into(),
            ),
            ErrorKind::Redirect => hints.push(
                "save the address the redirect names as the site; cwbridge never follows redirects".into(),
            ),
            ErrorKind::TooLarge => hints.push(
                "the site answered with more than a ConnectWise answer holds: check that the site is your ConnectWise".into(),
            ),
            ErrorKind::Config if !e.to_string().contains("certificate") => hints.push(
                "write the site as a host name, e.g. na.myconnectwise.net".into(),
            ),
            ErrorKind::Config => hints.push(
                "the server's certificate is not trusted: an on-premise ConnectWise with its own certificate needs its CA configured in cwbridge".into(),
            ),
            _ => {
                hints.push(
                    "write the site as a host name, e.g. na.myconnectwise.net (no https://, no path)".into(),
                );
                let allow = match &self.config.egress_address {
                    Some(ip) => format!("an on-premise ConnectWise may need this bridge's address {ip} allow-listed on its firewall"),
                    None => "an on-premise ConnectWise may need this bridge's outgoing address allow-listed on its firewall".into(),
                };
                hints.push(allow);
            }
        }
        hints
    }
}
