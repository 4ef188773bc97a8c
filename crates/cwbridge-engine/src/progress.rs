//! Where a tenant stands in the four set-up steps. A step is open once every step before it
//! is complete, as seed 004 walks them: billing needs a working connection, mapping needs the
//! billing choices (its agreements default to them), tickets need mapped accounts (alerts
//! become tickets on their companies). A connection whose later check fails (a role changed
//! in ConnectWise) does not lock the steps already taken: the pages warn instead.

use serde::Serialize;

use crate::{Engine, EngineError, Result};
use cwbridge_store::TenantId;

/// One of the four set-up steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SetupStep {
    /// 1: the ConnectWise connection.
    Connect,
    /// 2: billing and the product.
    Billing,
    /// 3: customers mapped to companies.
    Mapping,
    /// 4: ticket defaults and alert routes.
    Tickets,
}

impl SetupStep {
    /// The steps, in order.
    pub const ALL: [SetupStep; 4] = [
        SetupStep::Connect,
        SetupStep::Billing,
        SetupStep::Mapping,
        SetupStep::Tickets,
    ];

    /// Its number, 1 to 4.
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// Its name, as the wizard shows it.
    pub fn name(self) -> &'static str {
        match self {
            SetupStep::Connect => "Connect",
            SetupStep::Billing => "Billing & product",
            SetupStep::Mapping => "Customer mapping",
            SetupStep::Tickets => "Tickets & alerts",
        }
    }
}

/// The four steps' completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The connection is saved and its last check passed.
    pub connect: bool,
    /// A connection is saved but its last check failed.
    pub check_failed: bool,
    /// Billing & product is saved.
    pub billing: bool,
    /// At least one account is mapped to a company.
    pub mapping: bool,
    /// The ticket defaults are saved.
    pub tickets: bool,
}

impl Progress {
    /// Whether a step is complete.
    pub fn done(&self, step: SetupStep) -> bool {
        match step {
            SetupStep::Connect => self.connect,
            SetupStep::Billing => self.billing,
            SetupStep::Mapping => self.mapping,
            SetupStep::Tickets => self.tickets,
        }
    }

    /// Whether a step may be opened: every step before it is complete (a connection whose
    /// check failed after billing was set up still counts, so nothing taken is locked).
    pub fn open(&self, step: SetupStep) -> bool {
        SetupStep::ALL
            .into_iter()
            .take_while(|s| *s < step)
            .all(|s| self.done(s) || (s == SetupStep::Connect && self.check_failed && self.billing))
    }

    /// The first step not complete, if any.
    pub fn next(&self) -> Option<SetupStep> {
        SetupStep::ALL.into_iter().find(|s| !self.done(*s))
    }
}

impl Engine {
    /// A tenant's progress through the four steps.
    pub async fn progress(&self, tenant: TenantId) -> Result<Progress> {
        let last = self.last_check(tenant).await?;
        let connect = last.as_ref().is_some_and(|c| c.ok);
        let check_failed = last.is_some_and(|c| !c.ok);
        let billing = match self.billing(tenant).await {
            Ok(_) => true,
            Err(EngineError::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        let mapping = self.store.has_mapping(tenant).await?;
        let tickets = self.store.ticket_settings(tenant).await?.is_some();
        Ok(Progress {
            connect,
            check_failed,
            billing,
            mapping,
            tickets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SetupStep::*;

    #[test]
    fn a_step_opens_when_the_ones_before_are_done() {
        let p = Progress {
            connect: true,
            check_failed: false,
            billing: false,
            mapping: true,
            tickets: false,
        };
        assert!(p.open(Connect) && p.open(Billing));
        assert!(!p.open(Mapping) && !p.open(Tickets), "billing is not done");
        assert_eq!(p.next(), Some(Billing));
        let broken = Progress {
            connect: false,
            check_failed: true,
            billing: true,
            mapping: true,
            tickets: true,
        };
        assert!(
            broken.open(Tickets),
            "a failed re-check locks nothing already set up"
        );
        assert_eq!(broken.next(), Some(Connect));
        let fresh = Progress {
            check_failed: true,
            ..Progress::default()
        };
        assert!(
            !fresh.open(Billing),
            "a first connection must pass its check"
        );
        let all = Progress {
            connect: true,
            check_failed: false,
            billing: true,
            mapping: true,
            tickets: true,
        };
        assert_eq!(all.next(), None);
        assert_eq!(
            SetupStep::ALL.map(SetupStep::number),
            [1, 2, 3, 4],
            "numbered in order"
        );
    }
}
