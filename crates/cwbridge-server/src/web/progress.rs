//! Where a tenant stands in the four steps. A step is open once every step before it is
//! complete, as seed 004 walks them: billing needs a working connection, mapping needs the
//! billing choices (its agreements default to them), tickets need mapped accounts (alerts
//! become tickets on their companies). A connection whose later check fails (a role changed
//! in ConnectWise) does not lock the steps already taken: the pages warn instead.

use cwbridge_engine::{Engine, EngineError};
use cwbridge_store::TenantId;

use super::StepLink;

/// The four steps' completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// The steps: number, name, page.
pub const STEPS: [(u8, &str, &str); 4] = [
    (1, "Connect", "/setup/connect"),
    (2, "Billing & product", "/setup/billing"),
    (3, "Customer mapping", "/setup/mapping"),
    (4, "Tickets & alerts", "/setup/tickets"),
];

impl Progress {
    /// Reads a tenant's progress.
    pub async fn of(engine: &Engine, tenant: TenantId) -> Result<Progress, EngineError> {
        let last = engine.last_check(tenant).await?;
        let connect = last.as_ref().is_some_and(|c| c.ok);
        let check_failed = last.is_some_and(|c| !c.ok);
        let billing = match engine.billing(tenant).await {
            Ok(_) => true,
            Err(EngineError::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        let mapping = engine.store().has_mapping(tenant).await?;
        let tickets = engine.store().ticket_settings(tenant).await?.is_some();
        Ok(Progress {
            connect,
            check_failed,
            billing,
            mapping,
            tickets,
        })
    }

    /// Whether step `n` (1 to 4) is complete.
    pub fn done(&self, n: u8) -> bool {
        match n {
            1 => self.connect,
            2 => self.billing,
            3 => self.mapping,
            4 => self.tickets,
            _ => false,
        }
    }

    /// Whether step `n` may be opened: every step before it is complete (a connection
    /// whose check failed after billing was set up still counts, so nothing taken is locked).
    pub fn open(&self, n: u8) -> bool {
        (1..n).all(|m| self.done(m) || (m == 1 && self.check_failed && self.billing))
    }

    /// The first step not complete, if any.
    pub fn next(&self) -> Option<u8> {
        (1..=4).find(|&n| !self.done(n))
    }

    /// The steps for the navigation.
    pub fn links(&self) -> Vec<StepLink> {
        STEPS
            .iter()
            .map(|&(number, name, href)| StepLink {
                number,
                name,
                href,
                state: if self.done(number) {
                    "done"
                } else if self.open(number) {
                    "open"
                } else {
                    "locked"
                },
                current: false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_opens_when_the_ones_before_are_done() {
        let p = Progress {
            connect: true,
            check_failed: false,
            billing: false,
            mapping: true,
            tickets: false,
        };
        assert!(p.open(1) && p.open(2));
        assert!(!p.open(3) && !p.open(4), "billing is not done");
        assert_eq!(p.next(), Some(2));
        let states: Vec<_> = p.links().iter().map(|l| l.state).collect();
        assert_eq!(states, ["done", "open", "done", "locked"]);
        let broken = Progress {
            connect: false,
            check_failed: true,
            billing: true,
            mapping: true,
            tickets: true,
        };
        assert!(
            broken.open(4),
            "a failed re-check locks nothing already set up"
        );
        assert_eq!(broken.next(), Some(1));
        let fresh = Progress {
            check_failed: true,
            ..Progress::default()
        };
        assert!(!fresh.open(2), "a first connection must pass its check");
        let all = Progress {
            connect: true,
            check_failed: false,
            billing: true,
            mapping: true,
            tickets: true,
        };
        assert_eq!(all.next(), None);
    }
}
