//! Writes a shrunk fuzz failure as a case file: the request as a raw body with the pool's ids as
//! placeholders, and what the protocol expects of it, so `ewsconf run` replays it on any target.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::ews::{ConnectingSid, FolderId, ItemId};
use crate::generate::{FuzzCase, Malformation, PoolIds};
use crate::run::Finding;

#[derive(Serialize)]
struct CaseFile {
    id: String,
    title: String,
    tags: Vec<String>,
    reference: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    requires: Vec<String>,
    poll_timeout_secs: u64,
    setup: Vec<Setup>,
    request: Request,
    expect: Expect,
}

#[derive(Serialize)]
struct Setup {
    name: String,
    owner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to: Vec<String>,
}

#[derive(Serialize)]
struct Request {
    #[serde(rename = "as")]
    sender: String,
    raw: String,
    content_type: String,
    soap_action: String,
    item_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    mangle: Option<String>,
}

#[derive(Serialize)]
struct Message {
    class: String,
    code: Vec<String>,
}

#[derive(Serialize)]
struct Expect {
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<Message>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<Vec<String>>,
    state: Vec<String>,
}

/// The case file (TOML) that replays `case`; `findings` say what failed when it was found.
pub fn regression_case(id: &str, case: &FuzzCase, seed: u64, findings: &[Finding]) -> String {
    let shape = case.effective_shape();
    let slots: BTreeSet<usize> = shape.items.iter().map(|r| r.draft).collect();
    let stale = case.stale_drafts();
    let pool = PoolIds {
        drafts: (0..crate::generate::send::POOL_SIZE)
            .map(|d| {
                ItemId::new(format!("{{{{id:d{d}}}}}"))
                    .with_change_key(format!("{{{{changekey:d{d}}}}}"))
            })
            .collect(),
        stale: (0..crate::generate::send::POOL_SIZE)
            .map(|d| stale.contains(&d).then(|| format!("{{{{stalekey:d{d}}}}}")))
            .collect(),
        task: ItemId::new("{{id:task}}").with_change_key("{{changekey:task}}"),
        ghost: ItemId::new("{{deleted}}"),
        sender: "{{address:principal}}".into(),
        outsider: "{{address:outsider}}".into(),
        inbox: FolderId::new("{{folderid:principal:inbox}}"),
    };
    let impersonate = shape
        .impersonate
        .then(|| ConnectingSid::PrimarySmtpAddress("{{address:principal}}".into()));
    // Bytes a TOML string cannot hold are applied by the runner instead.
    let (rendered, mangle) = match case.malformation {
        Some(m @ (Malformation::InvalidUtf8 | Malformation::Oversize)) => {
            let valid = FuzzCase {
                shape: case.shape.clone(),
                malformation: None,
            };
            (
                valid.render(&pool, impersonate, 0),
                Some(m.name().to_owned()),
            )
        }
        _ => (case.render(&pool, impersonate, 0), None),
    };
    let mut setup: Vec<Setup> = slots
        .iter()
        .map(|d| Setup {
            name: format!("d{d}"),
            owner: "principal".into(),
            kind: None,
            to: vec!["recipient".into()],
        })
        .collect();
    if case.malformation == Some(Malformation::NonMessageItem) {
        setup.push(Setup {
            name: "task".into(),
            owner: "principal".into(),
            kind: Some("task".into()),
            to: Vec::new(),
        });
    }
    let (http_status, messages, fault) = match (case.acceptable(), case.expected_messages()) {
        (crate::generate::Acceptable::Fault(codes), _) => (
            None,
            None,
            Some(codes.iter().map(|c| c.as_str().to_owned()).collect()),
        ),
        (crate::generate::Acceptable::Status(statuses), _) => {
            (statuses.first().copied(), None, None)
        }
        (_, Some(list)) => (
            None,
            Some(
                list.into_iter()
                    .map(|want| match want {
                        None => Message {
                            class: "Success".into(),
                            code: vec!["NoError".into()],
                        },
                        Some(codes) => Message {
                            class: "Error".into(),
                            code: codes.iter().map(|c| c.as_str().to_owned()).collect(),
                        },
                    })
                    .collect(),
            ),
            None,
        ),
        (_, None) => (Some(200), None, None),
    };
    let sent = case.drafts_sent();
    let copy_folder = shape.folder.map_or("sentitems", |f| f.folder().as_str());
    let mut state = Vec::new();
    for d in &slots {
        match (sent.contains(d), shape.save) {
            (true, true) => {
                state.push(format!("principal:{copy_folder} contains d{d}"));
                if copy_folder != "drafts" {
                    state.push(format!("principal:drafts lacks d{d}"));
                }
            }
            (true, false) => {
                state.push(format!("principal:drafts lacks d{d}"));
                state.push(format!("principal:sentitems lacks d{d}"));
            }
            (false, _) => {
                state.push(format!("principal:drafts contains d{d}"));
                state.push(format!("principal:sentitems lacks d{d}"));
            }
        }
    }
    let first = findings
        .first()
        .map(|f| format!("{}: expected {}, got {}", f.check, f.expected, f.actual))
        .unwrap_or_default();
    let file = CaseFile {
        id: id.to_owned(),
        title: format!(
            "fuzz regression: {} with {} ItemId(s)",
            case.name(),
            rendered.item_count
        ),
        tags: vec!["regression".into(), "fuzz".into(), case.name().into()],
        reference: format!("found by ewsconf fuzz --seed {seed}; {first}"),
        requires: if shape.impersonate {
            vec!["impersonation".into()]
        } else {
            Vec::new()
        },
        // Drafts and copies move with the send itself; no delivery is awaited.
        poll_timeout_secs: 10,
        setup,
        request: Request {
            sender: if shape.impersonate {
                "impersonator"
            } else {
                "principal"
            }
            .into(),
            raw: String::from_utf8_lossy(&rendered.body).into_owned(),
            content_type: rendered.content_type,
            soap_action: rendered.soap_action.unwrap_or_default(),
            item_count: rendered.item_count,
            mangle,
        },
        expect: Expect {
            http_status,
            messages,
            fault,
            state,
        },
    };
    let body = toml::to_string_pretty(&file)
        .unwrap_or_else(|e| format!("# could not serialize the case: {e}\n"));
    format!(
        "# Written by `ewsconf fuzz --seed {seed}`: the smallest request it found that breaks an invariant.\n{body}"
    )
}
