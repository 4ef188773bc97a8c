//! What a billing change did to an addition, kept with the change in the run's audit, and
//! the pure decision of what undoing it does now. No I/O here.
//!
//! An undo puts back what one change did only while ConnectWise still holds the addition as
//! the change left it: a line edited by hand since, or changed by a later run, is left alone
//! and named.

use connectwise_client::models::Addition;
use serde::{Deserialize, Serialize};

use super::apply::account_of;
use super::plan::{Change, Desired};

/// An addition's state: what a change found, or what it left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineState {
    /// The catalog product it bills.
    pub product_id: Option<i64>,
    /// How many units.
    pub quantity: f64,
    /// Its description.
    pub description: String,
    /// `Billable` or `DoNotBill`.
    pub bill_customer: String,
    /// Price per unit.
    pub unit_price: Option<f64>,
    /// Whether it is cancelled.
    pub cancelled: bool,
}

impl LineState {
    /// An addition's state as ConnectWise answered it.
    pub fn of(a: &Addition) -> Self {
        LineState {
            product_id: a.product.as_ref().and_then(|p| p.id),
            quantity: a.quantity.unwrap_or(0.0),
            description: a.description.clone().unwrap_or_default(),
            bill_customer: a.bill_customer.clone().unwrap_or_default(),
            unit_price: a.unit_price,
            cancelled: a.cancelled_date.is_some()
                || a.agreement_status.as_deref() == Some("Cancelled"),
        }
    }

    /// The same line with its billed values (quantity, description, billing setting, price)
    /// taken from `line`.
    pub fn billing(&self, line: &Desired) -> Self {
        LineState {
            quantity: line.quantity,
            description: line.description.clone(),
            bill_customer: line.bill_customer.clone(),
            unit_price: Some(line.unit_price),
            ..self.clone()
        }
    }

    /// The same line, cancelled or not.
    pub fn cancelled(&self, cancelled: bool) -> Self {
        LineState {
            cancelled,
            ..self.clone()
        }
    }

    /// How `now` differs from this state, in words (empty when it does not). A price or
    /// product either side does not know is not compared.
    pub fn differences(&self, now: &LineState) -> Vec<String> {
        let mut out = Vec::new();
        if self.cancelled != now.cancelled {
            out.push(if now.cancelled {
                "cancelled".to_owned()
            } else {
                "made active again".to_owned()
            });
        }
        if (self.quantity - now.quantity).abs() >= 1e-9 {
            out.push(format!("quantity {} → {}", self.quantity, now.quantity));
        }
        if self.description != now.description {
            out.push(format!(
                "description “{}” → “{}”",
                self.description, now.description
            ));
        }
        if self.bill_customer != now.bill_customer {
            out.push(format!(
                "billing {} → {}",
                self.bill_customer, now.bill_customer
            ));
        }
        if let (Some(a), Some(b)) = (self.unit_price, now.unit_price)
            && (a - b).abs() >= 1e-9
        {
            out.push(format!("unit price {a} → {b}"));
        }
        if let (Some(a), Some(b)) = (self.product_id, now.product_id)
            && a != b
        {
            out.push(format!("product #{a} → #{b}"));
        }
        out
    }
}

/// What one change did to one addition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    /// The line key it bills.
    pub key: String,
    /// The addition.
    pub addition_id: i64,
    /// Its agreement.
    pub agreement_id: i64,
    /// Its company.
    pub company_id: i64,
    /// Its state before the change; `None` when the change made it.
    pub before: Option<LineState>,
    /// Its state after the change.
    pub after: LineState,
    /// Whether the bridge's record of the line follows the change (a drift correction leaves
    /// the record at what the bridge last wrote, so the hand edit it overwrote shows again if
    /// it is undone).
    #[serde(default = "yes")]
    pub recorded: bool,
}

impl Effect {
    /// What a change did to `addition` (its id, agreement and company) of line `key`: the
    /// bridge's record of the line follows it.
    pub fn new(
        key: &str,
        (addition_id, agreement_id, company_id): (i64, i64, i64),
        before: Option<LineState>,
        after: LineState,
    ) -> Self {
        Effect {
            key: key.to_owned(),
            addition_id,
            agreement_id,
            company_id,
            before,
            after,
            recorded: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// What undoing one change does.
#[derive(Debug, Clone, PartialEq)]
pub enum Revert {
    /// Carry out this change (as a plan shows it).
    Do(Change),
    /// Leave the addition alone, for this reason.
    Skip(String),
    /// The change wrote nothing to ConnectWise: nothing to put back.
    Nothing,
}

/// What undoing `effect` does, given the addition as ConnectWise holds it `now` (`None`:
/// gone) and, for a cancelled line to be made again, the active addition that bills its key
/// already, if any (one the undo itself cancels first does not count).
pub fn revert(effect: &Effect, now: Option<&LineState>, billed_by: Option<i64>) -> Revert {
    if effect.before.as_ref() == Some(&effect.after) {
        return Revert::Nothing;
    }
    let Some(now) = now else {
        return Revert::Skip(format!(
            "addition #{} is no longer in ConnectWise (deleted since)",
            effect.addition_id
        ));
    };
    let differences = effect.after.differences(now);
    if !differences.is_empty() {
        return Revert::Skip(format!(
            "addition #{} changed since this run ({}): edited by hand or by a later run",
            effect.addition_id,
            differences.join(", ")
        ));
    }
    let desired = |s: &LineState| Desired {
        key: effect.key.clone(),
        account: account_of(&effect.key).to_owned(),
        company_id: effect.company_id,
        agreement_id: effect.agreement_id,
        quantity: s.quantity,
        description: s.description.clone(),
        bill_customer: s.bill_customer.clone(),
        unit_price: s.unit_price.unwrap_or(0.0),
    };
    match &effect.before {
        // The run made it: cancel it.
        None => Revert::Do(Change::Cancel {
            addition_id: effect.addition_id,
            key: effect.key.clone(),
            agreement_id: effect.agreement_id,
            company_id: effect.company_id,
            quantity: effect.after.quantity,
        }),
        // The run cancelled it: make it again with what it had, unless the key is billed.
        Some(before) if !before.cancelled && effect.after.cancelled => match billed_by {
            Some(other) => Revert::Skip(format!(
                "{} is billed again by addition #{other}: making #{} again would bill it twice",
                effect.key, effect.addition_id
            )),
            None => {
                let line = desired(before);
                Revert::Do(Change::Create {
                    amount: line.quantity * line.unit_price,
                    line,
                })
            }
        },
        Some(before) if before.cancelled == effect.after.cancelled => {
            let line = desired(before);
            Revert::Do(Change::Update {
                addition_id: effect.addition_id,
                amount: line.quantity * line.unit_price,
                line,
                from_quantity: effect.after.quantity,
                from_description: effect.after.description.clone(),
            })
        }
        // No change of the bridge makes a cancelled addition active again.
        Some(_) => Revert::Skip(format!(
            "addition #{} cannot be put back: it was active again after this change",
            effect.addition_id
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(quantity: f64, cancelled: bool) -> LineState {
        LineState {
            product_id: Some(7),
            quantity,
            description: format!("DMARC: {quantity}"),
            bill_customer: "Billable".into(),
            unit_price: Some(2.5),
            cancelled,
        }
    }

    fn effect(before: Option<LineState>, after: LineState) -> Effect {
        Effect::new("g-acme/*", (40, 3, 9), before, after)
    }

    fn kind(r: &Revert) -> &'static str {
        match r {
            Revert::Do(c) => c.kind(),
            Revert::Skip(_) => "skip",
            Revert::Nothing => "nothing",
        }
    }

    #[test]
    fn each_change_has_its_inverse_while_the_line_is_as_the_change_left_it() {
        let (one, two) = (state(1.0, false), state(2.0, false));
        // (case, what the change did, the addition now, another addition billing the key,
        // what the undo does)
        type Case = (
            &'static str,
            Effect,
            Option<LineState>,
            Option<i64>,
            &'static str,
        );
        let cases: [Case; 9] = [
            (
                "made",
                effect(None, one.clone()),
                Some(one.clone()),
                None,
                "cancel",
            ),
            (
                "made, then deleted",
                effect(None, one.clone()),
                None,
                None,
                "skip",
            ),
            (
                "made, then edited",
                effect(None, one.clone()),
                Some(two.clone()),
                None,
                "skip",
            ),
            (
                "updated",
                effect(Some(one.clone()), two.clone()),
                Some(two.clone()),
                None,
                "update",
            ),
            (
                "updated, then updated again",
                effect(Some(one.clone()), two.clone()),
                Some(state(3.0, false)),
                None,
                "skip",
            ),
            (
                "cancelled",
                effect(Some(one.clone()), one.cancelled(true)),
                Some(one.cancelled(true)),
                None,
                "create",
            ),
            (
                "cancelled, its key billed since",
                effect(Some(one.clone()), one.cancelled(true)),
                Some(one.cancelled(true)),
                Some(41),
                "skip",
            ),
            (
                "cancelled, then made active by hand",
                effect(Some(one.clone()), one.cancelled(true)),
                Some(one.clone()),
                None,
                "skip",
            ),
            (
                "adopted as it was",
                effect(Some(one.clone()), one.clone()),
                Some(two.clone()),
                None,
                "nothing",
            ),
        ];
        for (label, e, now, billed_by, want) in cases {
            let r = revert(&e, now.as_ref(), billed_by);
            assert_eq!(kind(&r), want, "{label}: {r:?}");
        }
    }

    #[test]
    fn a_skip_names_what_changed_and_an_update_puts_every_value_back() {
        let e = effect(Some(state(1.0, false)), state(2.0, false));
        let mut now = state(5.0, false);
        now.bill_customer = "DoNotBill".into();
        let Revert::Skip(reason) = revert(&e, Some(&now), None) else {
            panic!("a hand-edited line is left alone");
        };
        assert!(reason.contains("quantity 2 → 5"), "{reason}");
        assert!(reason.contains("billing Billable → DoNotBill"), "{reason}");
        let Revert::Do(Change::Update {
            line,
            from_quantity,
            ..
        }) = revert(&e, Some(&state(2.0, false)), None)
        else {
            panic!("an untouched line is put back");
        };
        assert_eq!((line.quantity, from_quantity), (1.0, 2.0));
        assert_eq!(line.description, "DMARC: 1");
        assert_eq!(line.account, "g-acme");
    }

    #[test]
    fn an_unknown_price_is_not_a_difference_and_effects_read_back() {
        let mut then = state(1.0, false);
        then.unit_price = None;
        assert!(then.differences(&state(1.0, false)).is_empty());
        let e = effect(None, state(1.0, false));
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Effect>(&text).unwrap(), e);
        let old = text.replace(",\"recorded\":true", "");
        assert!(serde_json::from_str::<Effect>(&old).unwrap().recorded);
    }
}
