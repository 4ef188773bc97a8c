//! Customer mapping (seed 004's step 3): each account to a ConnectWise company, with an
//! optional agreement override, and ranked suggestions — each with its reason — that are
//! never applied without the user's say (a wrong guess bills the wrong customer).

use std::collections::{BTreeSet, HashMap};

use connectwise_client::models::Company;
use connectwise_client::{Client, ErrorKind};
use cwbridge_store::{MappingRecord, TenantId};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::account::AccountView;
use crate::error::{EngineError, Result};

/// What the user chooses for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MappingInput {
    /// The ConnectWise company.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::whole::whole")]
    pub company_id: i64,
    /// An agreement of that company to bill on instead of the default type's.
    #[serde(default, deserialize_with = "crate::whole::whole_opt")]
    pub agreement_id: Option<i64>,
}

/// A mapping as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MappingView {
    /// The company's id.
    pub company_id: i64,
    /// Its name when mapped.
    pub company_name: String,
    /// The agreement override.
    pub agreement_id: Option<i64>,
}

impl From<MappingRecord> for MappingView {
    fn from(m: MappingRecord) -> Self {
        MappingView {
            company_id: m.company_id,
            company_name: m.company_name,
            agreement_id: m.agreement_id,
        }
    }
}

/// A suggestion this good or better is a strong match: the wizard preselects it, and
/// "accept every strong match" maps it.
pub const STRONG_MATCH: f64 = 0.9;

/// A company suggested for an account, and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    /// The company's id.
    pub company_id: i64,
    /// Its name.
    pub company_name: String,
    /// How good a match, 0 to 1.
    pub score: f64,
    /// Why it was suggested, in words.
    pub reasons: Vec<String>,
}

/// An account in the mapping step: its mapping, or suggestions when it has none.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MappingRow {
    /// The account.
    pub account: AccountView,
    /// Up to five companies, best first (only for unmapped accounts).
    pub suggestions: Vec<Suggestion>,
}

const SUFFIXES: &[&str] = &[
    "inc",
    "llc",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "co",
    "company",
    "group",
    "the",
    "gmbh",
    "plc",
    "pc",
];

/// The words of a name that say who it is: lowercase, without punctuation and legal suffixes.
fn words(name: &str) -> BTreeSet<String> {
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !SUFFIXES.contains(w))
        .map(str::to_owned)
        .collect()
}

/// `acme.example` from `https://www.acme.example/about`.
fn domain_of(site: &str) -> String {
    let s = site.trim().to_lowercase();
    let s = s.split_once("://").map_or(s.as_str(), |(_, rest)| rest);
    let host = s.split(['/', ':']).next().unwrap_or_default();
    host.strip_prefix("www.").unwrap_or(host).to_owned()
}

/// Ranks companies for an account by name, identifier and the units' domains.
pub fn rank(account_name: &str, units: &[String], companies: &[Company]) -> Vec<Suggestion> {
    CompanyIndex::new(companies).rank(account_name, units)
}

/// A company as ranking reads it, prepared once.
#[derive(Debug)]
struct Prepared {
    id: i64,
    name: String,
    words: BTreeSet<String>,
    identifier: Option<String>,
    domain: Option<String>,
}

/// An account as ranking reads it: its name's words (and them run together, to meet an
/// identifier) and its units' domains, prepared once.
#[derive(Debug)]
struct Wanted<'a> {
    name: &'a str,
    words: BTreeSet<String>,
    squashed: String,
    domains: BTreeSet<String>,
}

impl<'a> Wanted<'a> {
    fn new(name: &'a str, units: &[String]) -> Wanted<'a> {
        let words = words(name);
        Wanted {
            name,
            squashed: words.iter().cloned().collect(),
            words,
            domains: units.iter().map(|u| domain_of(u)).collect(),
        }
    }
}

/// Companies prepared for ranking many accounts: each company's words, identifier and
/// website domain read once, and looked up by them, so an account is compared only with the
/// companies that share something with it (the others score nothing).
#[derive(Debug, Default)]
pub struct CompanyIndex {
    companies: Vec<Prepared>,
    by_word: HashMap<String, Vec<usize>>,
    by_identifier: HashMap<String, Vec<usize>>,
    by_domain: HashMap<String, Vec<usize>>,
}

impl CompanyIndex {
    /// Prepares `companies`.
    pub fn new(companies: &[Company]) -> CompanyIndex {
        let mut index = CompanyIndex::default();
        for (i, c) in companies.iter().enumerate() {
            let name = c.name.clone().unwrap_or_default();
            let prepared = Prepared {
                id: c.id.unwrap_or_default(),
                words: words(&name),
                name,
                identifier: c.identifier.clone(),
                domain: c
                    .website
                    .as_deref()
                    .map(domain_of)
                    .filter(|d| !d.is_empty()),
            };
            for w in &prepared.words {
                index.by_word.entry(w.clone()).or_default().push(i);
            }
            if let Some(identifier) = &prepared.identifier {
                let key = identifier.to_lowercase();
                index.by_identifier.entry(key).or_default().push(i);
            }
            if let Some(domain) = &prepared.domain {
                index.by_domain.entry(domain.clone()).or_default().push(i);
            }
            index.companies.push(prepared);
        }
        index
    }

    /// Up to five companies for an account, best first, each with why.
    pub fn rank(&self, account_name: &str, units: &[String]) -> Vec<Suggestion> {
        let account = Wanted::new(account_name, units);
        let mut candidates: BTreeSet<usize> = BTreeSet::new();
        for w in &account.words {
            candidates.extend(self.by_word.get(w).into_iter().flatten());
        }
        if !account.squashed.is_empty() {
            candidates.extend(
                self.by_identifier
                    .get(&account.squashed)
                    .into_iter()
                    .flatten(),
            );
        }
        for d in &account.domains {
            candidates.extend(self.by_domain.get(d).into_iter().flatten());
        }
        self.score(candidates, &account)
    }

    /// Scores the companies at `candidates` for an account; the best five, best first.
    fn score(
        &self,
        candidates: impl IntoIterator<Item = usize>,
        account: &Wanted<'_>,
    ) -> Vec<Suggestion> {
        let Wanted {
            name: account_name,
            words: account_words,
            squashed,
            domains: unit_domains,
        } = account;
        let mut out: Vec<Suggestion> = candidates
            .into_iter()
            .filter_map(|i| {
                let c = &self.companies[i];
                let mut score: f64 = 0.0;
                let mut reasons = Vec::new();
                if !account_words.is_empty() && *account_words == c.words {
                    score = score.max(1.0);
                    reasons.push(format!(
                        "the names match (“{account_name}” and “{}”)",
                        c.name
                    ));
                } else {
                    let shared: Vec<&String> = account_words.intersection(&c.words).collect();
                    let union = account_words.union(&c.words).count().max(1);
                    if !shared.is_empty() {
                        let jaccard = shared.len() as f64 / union as f64;
                        score = score.max(0.8 * jaccard);
                        let list: Vec<&str> = shared.iter().map(|s| s.as_str()).collect();
                        reasons.push(format!("the names share {}", list.join(", ")));
                    }
                }
                if let Some(identifier) = &c.identifier
                    && !squashed.is_empty()
                    && identifier.to_lowercase() == *squashed
                {
                    score = score.max(0.95);
                    reasons.push(format!(
                        "the account's name is the company's identifier {identifier}"
                    ));
                }
                if let Some(site) = &c.domain
                    && unit_domains.contains(site)
                {
                    score = score.max(0.9);
                    reasons.push(format!(
                        "{site} is both one of the account's units and the company's website"
                    ));
                }
                (score >= 0.3).then(|| Suggestion {
                    company_id: c.id,
                    company_name: c.name.clone(),
                    score: (score * 100.0).round() / 100.0,
                    reasons,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.company_name.cmp(&b.company_name))
        });
        out.truncate(5);
        out
    }
}

/// A mapping checked against ConnectWise, as it is saved: the company exists, and the
/// agreement, when one is named, exists and is that company's. Nothing is stored.
pub(crate) async fn checked_mapping(
    client: &Client,
    account: &str,
    input: &MappingInput,
) -> Result<MappingRecord> {
    let company = match client.company().companies().get(input.company_id).await {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(EngineError::invalid(
                "companyId",
                format!("ConnectWise has no company #{}", input.company_id),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(agreement_id) = input.agreement_id {
        let agreement = match client.finance().agreements().get(agreement_id).await {
            Ok(a) => a,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(EngineError::invalid(
                    "agreementId",
                    format!("ConnectWise has no agreement #{agreement_id}"),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if agreement.company.as_ref().and_then(|c| c.id) != Some(input.company_id) {
            return Err(EngineError::invalid(
                "agreementId",
                format!(
                    "agreement #{agreement_id} belongs to another company than {}",
                    company.name.clone().unwrap_or_default()
                ),
            ));
        }
    }
    Ok(MappingRecord {
        external_id: account.to_owned(),
        company_id: input.company_id,
        company_name: company.name.unwrap_or_default(),
        agreement_id: input.agreement_id,
    })
}

impl Engine {
    /// Maps an account to a company (and optionally an agreement of it), checking both exist
    /// in ConnectWise and belong together.
    pub async fn map_account(
        &self,
        tenant: TenantId,
        account: &str,
        input: &MappingInput,
    ) -> Result<MappingView> {
        let r = self.map_account_inner(tenant, account, input).await;
        self.recheck_on_403(tenant, r).await
    }

    async fn map_account_inner(
        &self,
        tenant: TenantId,
        account: &str,
        input: &MappingInput,
    ) -> Result<MappingView> {
        if !self.store.has_account(tenant, account).await? {
            return Err(EngineError::NotFound(format!("no account `{account}`")));
        }
        let client = self.client_for(tenant).await?;
        let record = checked_mapping(&client, account, input).await?;
        self.store.put_mapping(tenant, &record).await?;
        Ok(record.into())
    }

    /// Unmaps an account; its lines are cancelled by the next billing run.
    pub async fn unmap_account(&self, tenant: TenantId, account: &str) -> Result<()> {
        if self.store.delete_mapping(tenant, account).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!(
                "account `{account}` is not mapped"
            )))
        }
    }

    /// Every account, with suggestions for those not mapped yet (companies read once).
    pub async fn mapping_overview(&self, tenant: TenantId) -> Result<Vec<MappingRow>> {
        let accounts = self.accounts(tenant).await?;
        let companies: Vec<Company> = if accounts.iter().any(|a| a.mapping.is_none()) {
            let client = self.client_for(tenant).await?;
            client
                .company()
                .companies()
                .list()
                .fields(["id", "identifier", "name", "website"])
                .page_size(1000)
                .stream()
                .try_collect()
                .await?
        } else {
            Vec::new()
        };
        let index = CompanyIndex::new(&companies);
        Ok(accounts
            .into_iter()
            .map(|account| MappingRow {
                suggestions: if account.mapping.is_none() {
                    index.rank(&account.name, &account.units)
                } else {
                    Vec::new()
                },
                account,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(id: i64, identifier: &str, name: &str, website: &str) -> Company {
        Company {
            id: Some(id),
            identifier: Some(identifier.into()),
            name: Some(name.into()),
            website: Some(website.into()),
            ..Default::default()
        }
    }

    #[test]
    fn suggestions_are_ranked_with_their_reasons() {
        let companies = [
            company(1, "AcmeCorp", "Acme Corporation", "www.acme.example"),
            company(2, "AcmeTools", "Acme Tools Inc", "acmetools.example"),
            company(3, "Contoso", "Contoso Manufacturing", "www.contoso.example"),
        ];
        let s = rank("ACME Corp.", &["mail.other.example".into()], &companies);
        assert_eq!(s[0].company_id, 1);
        assert!(s[0].reasons[0].contains("the names match"), "{s:?}");
        assert_eq!(s[1].company_id, 2);
        assert!(s[1].reasons[0].contains("share acme"));
        assert!(s.iter().all(|x| x.company_id != 3));

        let by_domain = rank("Marketing team", &["contoso.example".into()], &companies);
        assert_eq!(by_domain[0].company_id, 3);
        assert!(by_domain[0].reasons[0].contains("contoso.example"));

        let by_identifier = rank("Acme Tools", &[], &companies);
        assert_eq!(by_identifier[0].company_id, 2);
        assert!(rank("Zeta", &[], &companies).is_empty());
    }

    proptest::proptest! {
        /// Looking companies up by word, identifier and domain finds every company that a
        /// scan of them all would suggest, and no other.
        #[test]
        fn the_index_suggests_what_a_full_scan_does(
            account in "[A-Za-z ]{0,24}",
            units in proptest::collection::vec("[a-c]{1,2}\\.example", 0..3),
            names in proptest::collection::vec(("[A-Za-z ]{0,20}", "[A-Za-z]{0,8}", "(www\\.)?[a-c]{1,2}\\.example"), 0..30),
        ) {
            let companies: Vec<Company> = names
                .iter()
                .enumerate()
                .map(|(i, (name, identifier, site))| company(i as i64, identifier, name, site))
                .collect();
            let index = CompanyIndex::new(&companies);
            proptest::prop_assert_eq!(
                index.rank(&account, &units),
                index.score(0..companies.len(), &Wanted::new(&account, &units))
            );
        }
    }

    #[test]
    fn domains_come_from_any_way_of_writing_a_site() {
        assert_eq!(domain_of("https://www.Acme.example/about"), "acme.example");
        assert_eq!(domain_of("acme.example:8080"), "acme.example");
    }
}
