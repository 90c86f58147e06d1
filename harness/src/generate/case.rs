//! A generated request as a [`Case`]: the request as a raw body whose ids are placeholders, and
//! what the protocol expects of it. Fuzzing judges every exchange against this case, and a shrunk
//! failure is written out as its case file.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use super::malformation::{Acceptable, Level, Malformation};
use super::send::{FuzzCase, POOL_SIZE, PoolIds};
use crate::case::{
    Case, CaseRequest, Expectation, ExpectedAnswer, ExpectedMessage, FolderName, Mangle,
    QuirkExpectation, RawRequest, Requirement, Role, SetupItem, SetupKind, StateExpectation,
    StateKind,
};
use crate::ews::send_item::{SavedCopy, saved_copy};
use crate::ews::{ConnectingSid, ExchangeVersion, FolderId, ItemId, ResponseClass, ResponseCode};

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
            // Exchange creates a task only in a tasks folder (ErrorCannotCreateTaskInNonTaskFolder).
            let mut task = SetupItem::draft("task".into(), Role::Principal, Vec::new());
            task.kind = SetupKind::Task;
            task.folder = FolderName::Tasks;
            setup.push(task);
        }
        let expect = self.expectation(&slots, false);
        let quirk = self.quirk(&slots);
        Case {
            id: id.to_owned(),
            title: format!(
                "generated: {} with {} ItemId(s)",
                self.name(),
                rendered.item_count
            ),
            tags: vec!["fuzz".into(), self.name().into()],
            reference,
            requirements: Vec::new(),
            section: "MS-OXWSCORE 3.1.4.8 SendItem".into(),
            category: id.split('/').next().unwrap_or("fuzz").to_owned(),
            path: std::path::PathBuf::from(format!("{id}.toml")),
            requires: if shape.impersonate {
                vec![Requirement::Impersonation]
            } else {
                Vec::new()
            },
            setup,
            request: CaseRequest::Raw(RawRequest {
                body: String::from_utf8_lossy(&rendered.body).into_owned(),
                content_type: rendered.content_type,
                soap_action: rendered.soap_action,
                item_count: Some(rendered.item_count),
                mangle,
            }),
            sender: if shape.impersonate {
                Role::Impersonator
            } else {
                Role::Principal
            },
            expect,
            quirk,
            server_versions: Vec::new(),
            // Drafts and copies move with the send itself; no delivery is awaited.
            poll_timeout: Duration::from_secs(10),
        }
    }

    /// What the protocol expects of the request over the pool drafts `slots`: the answer, and
    /// where each draft is afterwards. With `change_key_required`, an `ItemId` without
    /// `ChangeKey` is refused, as Exchange does.
    fn expectation(&self, slots: &BTreeSet<usize>, change_key_required: bool) -> Expectation {
        let (http_status, answer) = match (
            self.acceptable(),
            self.expected_messages_when(change_key_required),
        ) {
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
        Expectation {
            http_status,
            answer,
            state: self.state(slots, &self.drafts_sent_when(change_key_required)),
            lines: Default::default(),
        }
    }

    /// Each draft stays put unless it is in `sent`; a sent one's copy goes where the save rules
    /// say, and nowhere else.
    fn state(&self, slots: &BTreeSet<usize>, sent: &BTreeSet<usize>) -> Vec<StateExpectation> {
        let shape = self.effective_shape();
        let copy = match saved_copy(shape.save, shape.folder.map(|f| f.folder())) {
            Ok(SavedCopy::SentItems) => Some(FolderName::SentItems),
            Ok(SavedCopy::Folder(f)) => FolderName::parse(f.as_str()),
            Ok(SavedCopy::None) | Err(_) => None,
        };
        let mut state = Vec::new();
        for d in slots {
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
        state
    }

    /// What real Exchange is observed to answer instead, where that differs from what the
    /// pages say: the `[quirk]` of the generated case.
    fn quirk(&self, slots: &BTreeSet<usize>) -> Option<QuirkExpectation> {
        let version = self.effective_shape().version;
        if self.level() == Some(Level::Schema)
            && version.is_some_and(|v| v > ExchangeVersion::Exchange2013)
        {
            // Exchange validates only requests for Exchange2013 or older, or with no version:
            // a newer malformed request fails later (ErrorInternalServerError) or takes effect.
            // Any answer the protocol checks allow is Exchange's; no state is promised.
            return Some(QuirkExpectation {
                name: "unvalidated-request".into(),
                reference: "Exchange schema-validates a request only when its RequestServerVersion is Exchange2013 or older, or absent; a newer one is not validated and fails later or takes effect (exchangelib #1310: a request Exchange refused under Exchange2013 went through under Exchange2013_SP1)".into(),
                expect: Expectation {
                    http_status: vec![200, 500],
                    answer: ExpectedAnswer::Status,
                    state: Vec::new(),
                    lines: Default::default(),
                },
            });
        }
        if version.is_some_and(|v| v > ExchangeVersion::V2017_07_11) {
            // Only Exchange Online serves versions after Exchange 2019's V2017_07_11; the
            // on-premises servers refuse the request.
            return Some(QuirkExpectation {
                name: "version-not-served".into(),
                reference: "Exchange 2016/2019/SE answer a RequestServerVersion newer than V2017_07_11, such as V2018_01_08, which only Exchange Online accepts, with the fault ErrorInvalidRequest, Exchange 2010 with ErrorInvalidServerVersion (exchangelib #927, #605, #901; ews-javascript-api #441; node-ews #18)".into(),
                expect: Expectation {
                    http_status: vec![500],
                    answer: ExpectedAnswer::Fault(vec![
                        ResponseCode::ErrorInvalidRequest,
                        ResponseCode::ErrorInvalidServerVersion,
                    ]),
                    state: self.state(slots, &BTreeSet::new()),
                    lines: Default::default(),
                },
            });
        }
        let required = self.expectation(slots, true);
        (required != self.expectation(slots, false)).then(|| QuirkExpectation {
            name: "changekey-required".into(),
            reference: "ResponseCode element reference: ErrorChangeKeyRequiredForWriteOperations (for SendItem the caller must pass in a correct and current change key) and ErrorStaleObject (not up-to-date or was not supplied)".into(),
            expect: required,
        })
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

    use crate::case::ExpectedAnswer;
    use crate::ews::{ExchangeVersion, ResponseCode};
    use crate::generate::send::{IdKind, PoolRef};
    use crate::generate::{FuzzCase, Malformation, SendShape};

    fn generated(
        change_key: bool,
        version: Option<ExchangeVersion>,
        malformation: Option<Malformation>,
    ) -> crate::case::Case {
        FuzzCase {
            shape: SendShape {
                save: true,
                items: vec![
                    PoolRef {
                        draft: 0,
                        kind: IdKind::ItemId,
                        change_key: true,
                    },
                    PoolRef {
                        draft: 1,
                        kind: IdKind::ItemId,
                        change_key,
                    },
                ],
                folder: None,
                version,
                culture: None,
                impersonate: false,
            },
            malformation,
        }
        .to_case("fuzz/t", "t".into())
    }

    #[test]
    fn what_exchange_answers_instead_is_the_generated_quirk() {
        // A valid request with ChangeKeys, for a version every Exchange serves: no quirk.
        assert_eq!(generated(true, None, None).quirk, None);
        // An ItemId without ChangeKey: sent as the pages say, refused as Exchange does.
        let case = generated(false, None, None);
        let quirk = case.quirk.expect("a quirk");
        assert_eq!(quirk.name, "changekey-required");
        let ExpectedAnswer::Messages(list) = &quirk.expect.answer else {
            panic!("{:?}", quirk.expect.answer)
        };
        assert_eq!(list[0].codes, [ResponseCode::NoError]);
        assert!(
            list[1]
                .codes
                .contains(&ResponseCode::ErrorChangeKeyRequiredForWriteOperations)
        );
        assert!(
            quirk
                .expect
                .state
                .iter()
                .any(|s| s.text == "principal:drafts contains d1"),
            "{:?}",
            quirk.expect.state
        );
        // A schema error: the fault where Exchange validates, anything the protocol allows where
        // it does not.
        let schema = Some(Malformation::UnknownElement);
        for version in [None, Some(ExchangeVersion::Exchange2013)] {
            assert_eq!(generated(true, version, schema).quirk, None, "{version:?}");
        }
        let newer = generated(true, Some(ExchangeVersion::Exchange2016), schema);
        assert_eq!(
            newer.expect.answer,
            ExpectedAnswer::Fault(vec![ResponseCode::ErrorSchemaValidation])
        );
        let quirk = newer.quirk.expect("a quirk");
        assert_eq!(quirk.name, "unvalidated-request");
        assert_eq!(quirk.expect.answer, ExpectedAnswer::Status);
        assert_eq!(quirk.expect.http_status, [200, 500]);
        assert!(quirk.expect.state.is_empty());
        // A version only Exchange Online serves.
        let online = generated(true, Some(ExchangeVersion::V2018_01_08), None);
        assert_eq!(online.quirk.expect("a quirk").name, "version-not-served");
    }

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
            assert_eq!(again.without_lines(), case.without_lines(), "{text}");
        }
    }
}
