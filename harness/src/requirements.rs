//! The protocol requirements cases name: Microsoft's Interop test suites number every requirement
//! of MS-OXWSCORE, MS-OXWSMSG and MS-OXWSCDATA (`MS-OXWSCORE_R465`). `requirements.toml` at the
//! repository root lists the SendItem ones; it is compiled in, so that a case naming an id not
//! listed is an error, and the coverage of every listed id can be reported.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::judge::Verdict;
use crate::run::Outcome;

/// The catalogue's text, as built.
const CATALOGUE: &str = include_str!("../../requirements.toml");

/// One numbered requirement of a protocol document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolRequirement {
    /// `MS-OXWSCORE_R465`: the document, `_R`, and the requirement's number.
    pub id: String,
    /// The document section that states it, e.g. `MS-OXWSCORE 3.1.4.8.3.2 m:SendItemType`.
    pub section: String,
    /// What it requires, in this project's words.
    pub text: String,
    /// Where in Microsoft's Interop test suites the id was read.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    requirement: Vec<ProtocolRequirement>,
}

/// Every SendItem requirement the project knows, in the catalogue's order (document, then
/// number).
pub fn catalogue() -> &'static [ProtocolRequirement] {
    static PARSED: OnceLock<Vec<ProtocolRequirement>> = OnceLock::new();
    PARSED.get_or_init(|| {
        // Compiled in and checked by this module's tests: a broken catalogue cannot be built
        // into a release that passed them.
        let parsed: Catalogue = toml::from_str(CATALOGUE).expect("requirements.toml parses");
        parsed.requirement
    })
}

/// The catalogue entry for `id`.
pub fn find(id: &str) -> Option<&'static ProtocolRequirement> {
    catalogue().iter().find(|r| r.id == id)
}

/// Whether `text` has the shape of a requirement id: `MS-OX…_R` and a number.
pub fn is_id(text: &str) -> bool {
    text.strip_prefix("MS-OX")
        .and_then(|rest| rest.split_once("_R"))
        .is_some_and(|(doc, number)| {
            !doc.is_empty()
                && doc.bytes().all(|b| b.is_ascii_uppercase())
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
        })
}

/// How one catalogue requirement fared in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Coverage {
    /// No case of the run names it.
    Uncovered,
    /// Every case naming it was skipped.
    NotRun,
    /// Every case naming it that ran passed or matched a documented quirk.
    Holds,
    /// A case naming it failed or errored.
    Broken,
}

impl Coverage {
    /// The word reports use.
    pub fn name(self) -> &'static str {
        match self {
            Coverage::Uncovered => "not covered",
            Coverage::NotRun => "not run",
            Coverage::Holds => "holds",
            Coverage::Broken => "broken",
        }
    }
}

/// For each catalogue requirement, the outcomes of the cases naming it and what they add up to.
pub fn coverage(
    outcomes: &[Outcome],
) -> Vec<(&'static ProtocolRequirement, Coverage, Vec<&Outcome>)> {
    let mut naming: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes {
        for id in &o.requirements {
            naming.entry(id.as_str()).or_default().push(o);
        }
    }
    catalogue()
        .iter()
        .map(|r| {
            let cases = naming.remove(r.id.as_str()).unwrap_or_default();
            let ran = cases.iter().filter(|o| o.verdict != Verdict::Skip);
            let coverage = if cases.is_empty() {
                Coverage::Uncovered
            } else if ran.clone().any(|o| !o.verdict.conforms()) {
                Coverage::Broken
            } else if ran.count() == 0 {
                Coverage::NotRun
            } else {
                Coverage::Holds
            };
            (r, coverage, cases)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_catalogue_parses_with_unique_well_formed_ids() {
        let all = catalogue();
        assert!(all.len() > 50, "{}", all.len());
        let mut seen = BTreeSet::new();
        for r in all {
            assert!(is_id(&r.id), "{}", r.id);
            assert!(seen.insert(&r.id), "{} twice", r.id);
            assert!(!r.section.trim().is_empty() && !r.text.trim().is_empty());
        }
        for id in ["MS-OXWSCORE_R465", "MS-OXWSCORE_R1648", "MS-OXWSCORE_R1649"] {
            assert!(
                find(id).is_some(),
                "{id}: the SaveItemToFolder requirements"
            );
        }
    }

    #[test]
    fn the_readme_lists_exactly_the_requirements_no_case_of_the_suite_covers() {
        let suite = crate::case::load_embedded().expect("the suite loads");
        let covered: BTreeSet<&str> = suite
            .iter()
            .flat_map(|c| &c.requirements)
            .map(String::as_str)
            .collect();
        let uncovered: BTreeSet<&str> = catalogue()
            .iter()
            .map(|r| r.id.as_str())
            .filter(|id| !covered.contains(id))
            .collect();

        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let start = readme
            .find("<!-- uncovered-requirements")
            .expect("the README's list");
        let end = readme.find("<!-- end of uncovered-requirements").unwrap();
        let listed: BTreeSet<&str> = readme[start..end]
            .lines()
            .filter_map(|l| l.strip_prefix("- `")?.split('`').next())
            .collect();

        assert_eq!(listed, uncovered, "update the README's list");
        let count = format!("these {} SendItem", uncovered.len());
        assert!(readme.contains(&count), "the README should say {count:?}");
        let total = format!("the {} SendItem requirements", catalogue().len());
        assert!(readme.contains(&total), "the README should say {total:?}");
    }

    #[test]
    fn ids_have_the_interop_shape() {
        for good in ["MS-OXWSCORE_R465", "MS-OXWSMSG_R1", "MS-OXWSCDATA_R1041"] {
            assert!(is_id(good), "{good}");
        }
        for bad in [
            "MS-OXWSCORE_465",
            "MS-OXWSCORE_R",
            "MS-OXWSCORE_R46a",
            "MS-OX_R1",
            "ms-oxwscore_r465",
            "delegate/*",
            "MS-OXWSCORE_R4*",
        ] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn coverage_is_broken_by_any_failure_and_holds_only_when_something_ran() {
        let mut summary = crate::report::fixture::summary();
        for o in &mut summary.outcomes {
            o.requirements.clear();
        }
        // pass, pass, quirk, fail, skip, error, pass
        let name = |summary: &mut crate::run::RunSummary, i: usize, id: &str| {
            summary.outcomes[i].requirements.push(id.to_owned());
        };
        name(&mut summary, 0, "MS-OXWSCORE_R465");
        name(&mut summary, 2, "MS-OXWSCORE_R465");
        name(&mut summary, 3, "MS-OXWSCORE_R1648");
        name(&mut summary, 0, "MS-OXWSCORE_R1648");
        name(&mut summary, 4, "MS-OXWSCORE_R1649");

        let rows = coverage(&summary.outcomes);

        let of = |id: &str| {
            let (_, c, cases) = rows.iter().find(|(r, _, _)| r.id == id).unwrap();
            (*c, cases.len())
        };
        assert_eq!(of("MS-OXWSCORE_R465"), (Coverage::Holds, 2));
        assert_eq!(of("MS-OXWSCORE_R1648"), (Coverage::Broken, 2));
        assert_eq!(of("MS-OXWSCORE_R1649"), (Coverage::NotRun, 1));
        assert_eq!(of("MS-OXWSMSG_R172"), (Coverage::Uncovered, 0));
        assert_eq!(rows.len(), catalogue().len());
    }
}
