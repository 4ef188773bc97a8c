//! The wizard's view of a tenant's progress (the rule is the engine's,
//! [`cwbridge_engine::progress`]): each step's page and the navigation links.

pub use cwbridge_engine::progress::{Progress, SetupStep};

use super::StepLink;

/// A step's page.
pub fn page(step: SetupStep) -> &'static str {
    match step {
        SetupStep::Connect => "/setup/connect",
        SetupStep::Billing => "/setup/billing",
        SetupStep::Mapping => "/setup/mapping",
        SetupStep::Tickets => "/setup/tickets",
    }
}

/// The steps for the navigation.
pub fn links(progress: &Progress) -> Vec<StepLink> {
    SetupStep::ALL
        .into_iter()
        .map(|step| StepLink {
            number: step.number(),
            name: step.name(),
            href: page(step),
            state: if progress.done(step) {
                "done"
            } else if progress.open(step) {
                "open"
            } else {
                "locked"
            },
            current: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_show_done_open_and_locked_steps() {
        let p = Progress {
            connect: true,
            check_failed: false,
            billing: false,
            mapping: true,
            tickets: false,
        };
        let states: Vec<_> = links(&p).iter().map(|l| l.state).collect();
        assert_eq!(states, ["done", "open", "done", "locked"]);
        assert_eq!(links(&p)[2].href, "/setup/mapping");
    }
}
