//! A generated request as a [`Case`]: the request as a raw body whose ids are placeholders, and
//! what the protocol expects of it. Fuzzing judges every exchange against this case, and a shrunk
//! failure is written out as its case file.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use super::malformation::{Acceptable, Malformation};
use super::send::{FuzzCase, POOL_SIZE, PoolIds};
use crate::case::{
    Case, CaseRequest, Expectation, ExpectedAnswer, ExpectedMessage, FolderName, Mangle,
    Requirement, Role, SetupItem, SetupKind, StateExpectation, StateKind,
};
use crate::ews::send_item::{SavedCopy, saved_copy};
use crate::ews::{ConnectingSid, FolderId, ItemId, ResponseClass, ResponseCode};

/// The folders a generated case watches: wherever a draft or its copy can end up.
pub const WATCHED: [FolderName; 4] = [
    FolderName::Drafts,
    FolderName::SentItems,
    FolderName::Inbox,
    FolderName::DeletedItems,
];

/// The setup name of pool draft `d`.
pub fn draft_name(d: usize) -> String {
    format!("d{d}")
}

/// The pool as placeholders, so that the rendered body fills in on any target. A draft's stale
/// key is only rendered for the drafts a case makes stale, so every slot can offer one.
fn placeholder_pool() -> &'static PoolIds {
    static POOL: OnceLock<PoolIds> = OnceLock::new();
    POOL.get_or_init(|| PoolIds {
        drafts: (0..POOL_SIZE)
            .map(|d| {
                ItemId::new(format!("{{{{id:d{d}}}}}"))
                    .with_change_key(format!("{{{{changekey:d{d}}}}}"))
            })
            .collect(),
        stale: (0..POOL_SIZE)
            .map(|d| Some(format!("{{{{stalekey:d{d}}}}}")))
            .collect(),
        task: ItemId::new("{{id:task}}").with_change_key("{{changekey:task}}"),
        ghost: ItemId::new("{{deleted}}"),
        sender: "{{address:principal}}".into(),
        outsider: "{{address:outsider}}".into(),
        inbox: FolderId::new("{{folderid:principal:inbox}}"),
    })
}

impl FuzzCase {
    /// The case this generated request stands for, with `id` and the `reference` it rests on.
    pub fn to_case(&self, id: &str, reference: String) -> Case {
        let shape = self.effective_shape();
        let slots: BTreeSet<usize> = shape.items.iter().map(|r| r.draft).collect();
        let impersonate = shape
            .impersonate
            .then(|| ConnectingSid::PrimarySmtpAddress("{{address:principal}}".into()));
        let pool = placeholder_pool();
        // Bytes a TOML string cannot hold are applied to the filled-in body instead.
        let (rendered, mangle) = match self.malformation {
            Some(Malformation::InvalidUtf8) => (
                self.without_malformation().render(pool, impersonate, 0),
                Some(Mangle::InvalidUtf8),
            ),
            Some(Malformation::Oversize) => (
                self.without_malformation().render(pool, impersonate, 0),
                Some(Mangle::Oversize),
            ),
            _ => (self.render(pool, impersonate, 0), None),
        };
        let mut setup: Vec<SetupItem> = slots
            .iter()
            .map(|d| SetupItem::draft(draft_name(*d), Role::Principal, vec![Role::Recipient]))
            .collect();
        if self.malformation == Some(Malformation::NonMessageItem) {
            let mut task = SetupItem::draft("task".into(), Role::Principal, Vec::new());
            task.kind = SetupKind::Task;
            setup.push(task);
        }
        let (http_status, answer) = match (self.acceptable(), self.expected_messages()) {
            (Acceptable::Fault(codes), _) => (vec![500], ExpectedAnswer::Fault(codes.to_vec())),
            // A server that reads further may answer with a fault instead: 500, which the
            // protocol checks hold to carrying one.
            (Acceptable::Status(statuses), _) => {
                let mut list = statuses.to_vec();
                list.push(500);
                (list, ExpectedAnswer::Status)
            }
            (_, Some(list)) => (
                vec![200],
                ExpectedAnswer::Messages(
                    list.into_iter()
                        .map(|want| match want {
                            None => ExpectedMessage {
                                class: ResponseClass::Success,
                                codes: vec![ResponseCode::NoError],
                            },
                            Some(codes) => ExpectedMessage {
                                class: ResponseClass::Error,
                                codes: codes.to_vec(),
                            },
                        })
                        .collect(),
                ),
            ),
            (_, None) => (vec![200], ExpectedAnswer::Status),
        };
        // Each draft stays put unless it is sent; a sent one's copy goes where the save rules
        // say, and nowhere else.
        let sent = self.drafts_sent();
        let copy = match saved_copy(shape.save, shape.folder.map(|f| f.folder())) {
            Ok(SavedCopy::SentItems) => Some(FolderName::SentItems),
            Ok(SavedCopy::Folder(f)) => FolderName::parse(f.as_str()),
            Ok(SavedCopy::None) | Err(_) => None,
        };
        let mut state = Vec::new();
        for d in &slots {
            let home = if sent.contains(d) {
                copy
            } else {
                Some(FolderName::Drafts)
            };
            let name = draft_name(*d);
            for folder in WATCHED {
                let (verb, kind) = if home == Some(folder) {
                    ("contains", StateKind::Contains(name.clone()))
                } else {
                    ("lacks", StateKind::Lacks(name.clone()))
                };
                let folder_name = folder.distinguished().as_str();
                state.push(StateExpectation {
                    text: ["principal:", folder_name, " ", verb, " ", &name].concat(),
                    owner: Role::Principal,
                    folder,
                    kind,
                });
            }
        }
        Case {
            id: id.to_owned(),
            title: format!(
                "generated: {} with {} ItemId(s)",
                self.name(),
                rendered.item_count
            ),
            tags: vec!["fuzz".into(), self.name().into()],
            reference,
            category: id.split('/').next().unwrap_or("fuzz").to_owned(),
            path: std::path::PathBuf::from(format!("{id}.toml")),
            requires: if shape.impersonate {
                vec![Requirement::Impersonation]
            } else {
                Vec::new()
            },
            setup,
            request: CaseRequest::Raw {
                body: String::from_utf8_lossy(&rendered.body).into_owned(),
                content_type: rendered.content_type,
                soap_action: rendered.soap_action,
                item_count: Some(rendered.item_count),
                mangle,
            },
            sender: if shape.impersonate {
                Role::Impersonator
            } else {
                Role::Principal
            },
            expect: Expectation {
                http_status,
                answer,
                state,
            },
            quirk: None,
            // Drafts and copies move with the send itself; no delivery is awaited.
            poll_timeout: Duration::from_secs(10),
        }
    }

    fn without_malformation(&self) -> FuzzCase {
        FuzzCase {
            shape: self.shape.clone(),
            malformation: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::strategy::{Strategy, ValueTree};

    use crate::generate::{SchemaEra, arb_fuzz_case};

    #[test]
    fn generated_cases_read_back_from_the_case_files_they_write() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = arb_fuzz_case(SchemaEra::Current);
        for n in 0..300 {
            let generated = strategy.new_tree(&mut runner).unwrap().current();
            let id = format!("regressions/{}-{n}", generated.name());
            let case = generated.to_case(&id, "generated".into());
            let text = case.to_toml();
            let again = crate::case::parse_case(&case.path, &text, &case.category)
                .unwrap_or_else(|e| panic!("{generated:?}: {e}\n{text}"));
            assert_eq!(again, case, "{text}");
        }
    }
}
