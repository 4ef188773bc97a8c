//! Security roles: module-function settings with Add/Edit/Delete/Inquire levels, how a
//! request's permission is decided, and the presets the seeds describe.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::record::Val;
use crate::resources::{self, ALL_FUNCTIONS, Function, ROLE_SETTINGS};
use crate::store::Data;

/// What a request does, as a role's settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Reading (GET).
    Inquire,
    /// Creating (POST).
    Add,
    /// Changing (PUT, PATCH).
    Edit,
    /// Deleting (DELETE).
    Delete,
}

impl Action {
    /// The settings field holding this action's level.
    pub fn field(self) -> &'static str {
        match self {
            Action::Inquire => "inquireLevel",
            Action::Add => "addLevel",
            Action::Edit => "editLevel",
            Action::Delete => "deleteLevel",
        }
    }

    /// The word ConnectWise's role screen uses.
    pub fn label(self) -> &'static str {
        match self {
            Action::Inquire => "Inquire",
            Action::Add => "Add",
            Action::Edit => "Edit",
            Action::Delete => "Delete",
        }
    }
}

/// A permission level: `All`, `My` (records the member owns; the role screen's "Mine") or
/// `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No access.
    None,
    /// Only the member's own records.
    My,
    /// Every record.
    All,
}

impl Level {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::My => "My",
            Level::All => "All",
        }
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(Level::All),
            "my" | "mine" => Ok(Level::My),
            "none" => Ok(Level::None),
            other => Err(format!(
                "unknown level `{other}`: use All, My (Mine) or None"
            )),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four levels of one module function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// Add level.
    pub add: Level,
    /// Edit level.
    pub edit: Level,
    /// Delete level.
    pub delete: Level,
    /// Inquire level.
    pub inquire: Level,
}

impl Levels {
    /// No access at all.
    pub const NONE: Levels = Levels {
        add: Level::None,
        edit: Level::None,
        delete: Level::None,
        inquire: Level::None,
    };
    /// Full access.
    pub const ALL: Levels = Levels {
        add: Level::All,
        edit: Level::All,
        delete: Level::All,
        inquire: Level::All,
    };

    /// The level for one action.
    pub fn get(&self, action: Action) -> Level {
        match action {
            Action::Inquire => self.inquire,
            Action::Add => self.add,
            Action::Edit => self.edit,
            Action::Delete => self.delete,
        }
    }

    /// Sets the level for one action.
    pub fn set(&mut self, action: Action, level: Level) {
        match action {
            Action::Inquire => self.inquire = level,
            Action::Add => self.add = level,
            Action::Edit => self.edit = level,
            Action::Delete => self.delete = level,
        }
    }
}

/// One line of a role: a module function and its levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The module function.
    pub function: Function,
    /// Its levels.
    pub levels: Levels,
}

impl FromStr for Grant {
    type Err = String;

    /// Parses `Module/Function: inquire=All, add=All` (actions and levels in any case; the
    /// module and function as [`ALL_FUNCTIONS`] names them, case-insensitively).
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, levels) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}`: expected `Module/Function: inquire=All, add=All`"))?;
        let (module, function) = name
            .split_once('/')
            .ok_or_else(|| format!("`{name}`: expected `Module/Function`"))?;
        let function = ALL_FUNCTIONS
            .iter()
            .find(|f| {
                f.module.eq_ignore_ascii_case(module.trim())
                    && f.function.eq_ignore_ascii_case(function.trim())
            })
            .copied()
            .ok_or_else(|| {
                let known: Vec<String> = ALL_FUNCTIONS
                    .iter()
                    .map(|f| format!("{}/{}", f.module, f.function))
                    .collect();
                format!(
                    "unknown module function `{}`; known: {}",
                    name.trim(),
                    known.join(", ")
                )
            })?;
        let mut out = Levels::NONE;
        for part in levels.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (action, level) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected `action=Level`"))?;
            let action = match action.trim().to_ascii_lowercase().as_str() {
                "inquire" => Action::Inquire,
                "add" => Action::Add,
                "edit" => Action::Edit,
                "delete" => Action::Delete,
                other => {
                    return Err(format!(
                        "unknown action `{other}`: use inquire, add, edit or delete"
                    ));
                }
            };
            out.set(action, level.parse()?);
        }
        Ok(Grant {
            function,
            levels: out,
        })
    }
}

/// A named role preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Every function at All: the Admin role seed 000 recommends.
    Admin,
    /// The minimal custom role of seed 004 (billing plus tickets).
    BillingTickets,
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "admin" => Ok(Preset::Admin),
            "billing-tickets" => Ok(Preset::BillingTickets),
            other => Err(format!(
                "unknown preset `{other}`: use admin or billing-tickets"
            )),
        }
    }
}

impl Preset {
    /// The grants of the preset; functions not listed are None.
    pub fn grants(self) -> Vec<Grant> {
        match self {
            Preset::Admin => ALL_FUNCTIONS
                .iter()
                .map(|&function| Grant {
                    function,
                    levels: Levels::ALL,
                })
                .collect(),
            Preset::BillingTickets => seed_004_role(),
        }
    }
}

/// Seed 004's role, line by line as the article lists it.
pub fn seed_004_role() -> Vec<Grant> {
    let inquire = Levels {
        inquire: Level::All,
        ..Levels::NONE
    };
    vec![
        Grant {
            function: resources::COMPANY_MAINTENANCE,
            levels: inquire,
        },
        Grant {
            function: resources::PRODUCT_CATALOG,
            levels: Levels {
                add: Level::All,
                ..inquire
            },
        },
        Grant {
            function: resources::SERVICE_TICKETS,
            levels: Levels {
                add: Level::All,
                edit: Level::All,
                ..inquire
            },
        },
        Grant {
            function: resources::AGREEMENTS,
            levels: Levels::ALL,
        },
        Grant {
            function: resources::INVOICING,
            levels: inquire,
        },
        Grant {
            function: resources::TABLE_SETUP,
            levels: inquire,
        },
    ]
}

/// A role's levels by module function, read from its settings.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    by_function: HashMap<(String, String), Levels>,
}

impl Permissions {
    /// Reads role `role_id`'s settings from the state.
    pub fn of_role(data: &Data, role_id: i64) -> Permissions {
        let mut by_function = HashMap::new();
        for (_, setting) in data.children(ROLE_SETTINGS, role_id) {
            let text = |k: &str| setting.get(k).and_then(Val::as_str).unwrap_or("");
            let level = |k: &str| text(k).parse().unwrap_or(Level::None);
            by_function.insert(
                (
                    text("moduleName").to_ascii_lowercase(),
                    text("moduleFunctionName").to_ascii_lowercase(),
                ),
                Levels {
                    add: level("addLevel"),
                    edit: level("editLevel"),
                    delete: level("deleteLevel"),
                    inquire: level("inquireLevel"),
                },
            );
        }
        Permissions { by_function }
    }

    /// The first grant of `other` that goes beyond this role's: module, function, action and
    /// the two levels. `None` when this role grants at least everything `other` does.
    pub fn first_excess(
        &self,
        other: &Permissions,
    ) -> Option<(String, String, Action, Level, Level)> {
        let mut functions: Vec<_> = other.by_function.iter().collect();
        functions.sort_by(|a, b| a.0.cmp(b.0));
        for ((module, function), levels) in functions {
            let mine = self
                .by_function
                .get(&(module.clone(), function.clone()))
                .copied()
                .unwrap_or(Levels {
                    add: Level::None,
                    edit: Level::None,
                    delete: Level::None,
                    inquire: Level::None,
                });
            for action in [Action::Inquire, Action::Add, Action::Edit, Action::Delete] {
                if levels.get(action) > mine.get(action) {
                    return Some((
                        module.clone(),
                        function.clone(),
                        action,
                        levels.get(action),
                        mine.get(action),
                    ));
                }
            }
        }
        None
    }

    /// The level granted for an action on a module function.
    pub fn level(&self, function: Function, action: Action) -> Level {
        self.by_function
            .get(&(
                function.module.to_ascii_lowercase(),
                function.function.to_ascii_lowercase(),
            ))
            .map(|l| l.get(action))
            .unwrap_or(Level::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_from_the_role_screen_wording() {
        let g: Grant = "service desk/service tickets: inquire=All, edit=all, add=Mine"
            .parse()
            .unwrap();
        assert_eq!(g.function, resources::SERVICE_TICKETS);
        assert_eq!(g.levels.inquire, Level::All);
        assert_eq!(g.levels.add, Level::My);
        assert_eq!(g.levels.delete, Level::None);
        let err = "Service Desk/Tickets: inquire=All"
            .parse::<Grant>()
            .unwrap_err();
        assert!(err.contains("Service Desk/Service Tickets"), "{err}");
    }
}
