//! Writing a [`Case`] back out as a case file: the inverse of the loader, so that a generated
//! case (a shrunk fuzz failure) is saved in the same format people write by hand.

use serde::Serialize;

use super::file::SEND_ITEM_ACTION;
use super::{
    Case, CaseRequest, Expectation, ExpectedAnswer, FolderName, FolderRef, Impersonate, ItemRef,
    SetupKind, VersionHeader,
};

#[derive(Serialize)]
struct CaseFile<'a> {
    id: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
    reference: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    requirements: &'a [String],
    section: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    requires: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    server_versions: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    poll_timeout_secs: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    setup: Vec<Setup<'a>>,
    request: Request<'a>,
    expect: Expect<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quirk: Option<Quirk<'a>>,
}

#[derive(Serialize)]
struct Setup<'a> {
    name: &'a str,
    owner: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    folder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cc: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bcc: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    delivery_receipt: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pre_send: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    original: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct Request<'a> {
    #[serde(rename = "as")]
    sender: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    save_item_to_folder: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_item_folder_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impersonate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mailbox_culture: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    soap_action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mangle: Option<&'static str>,
}

/// One value, or a list of acceptable ones.
#[derive(Serialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    fn of(list: &[T]) -> Self {
        match list {
            [one] => OneOrMany::One(one.clone()),
            _ => OneOrMany::Many(list.to_vec()),
        }
    }
}

#[derive(Serialize)]
struct Message {
    class: String,
    code: OneOrMany<&'static str>,
}

#[derive(Serialize)]
struct Expect<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<OneOrMany<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<Message>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<OneOrMany<&'static str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    state: Vec<&'a str>,
}

#[derive(Serialize)]
struct Quirk<'a> {
    name: &'a str,
    reference: &'a str,
    #[serde(flatten)]
    expect: Expect<'a>,
}

fn expect(e: &Expectation) -> Expect<'_> {
    let codes = |c: &[crate::ews::ResponseCode]| {
        OneOrMany::of(&c.iter().map(|c| c.as_str()).collect::<Vec<_>>())
    };
    let (messages, fault, default_status) = match &e.answer {
        ExpectedAnswer::Messages(list) => (
            Some(
                list.iter()
                    .map(|m| Message {
                        class: m.class.to_string(),
                        code: codes(&m.codes),
                    })
                    .collect(),
            ),
            None,
            Some(200),
        ),
        ExpectedAnswer::Fault(c) => (None, Some(codes(c)), Some(500)),
        ExpectedAnswer::Status => (None, None, None),
    };
    Expect {
        http_status: (e.http_status.as_slice() != default_status.as_slice())
            .then(|| OneOrMany::of(&e.http_status)),
        messages,
        fault,
        state: e.state.iter().map(|s| s.text.as_str()).collect(),
    }
}

fn item_ref(r: &ItemRef) -> String {
    match r {
        ItemRef::Item(n) => n.clone(),
        ItemRef::Stale(n) => format!("stale:{n}"),
        ItemRef::NoChangeKey(n) => format!("nochangekey:{n}"),
        ItemRef::Literal(v) => format!("literal:{v}"),
        ItemRef::Deleted => "deleted".to_owned(),
    }
}

fn folder_ref(f: &FolderRef) -> String {
    match f {
        FolderRef::Distinguished { id, mailbox: None } => id.to_string(),
        FolderRef::Distinguished {
            id,
            mailbox: Some(owner),
        } => format!("{owner}:{id}"),
        FolderRef::FolderIdOf { owner, folder } => format!("folderid:{owner}:{folder}"),
        FolderRef::Literal(v) => format!("folderid:literal:{v}"),
    }
}

fn impersonate(i: &Impersonate) -> String {
    match i {
        Impersonate::PrimarySmtpAddress(r) => format!("primary-smtp-address:{r}"),
        Impersonate::SmtpAddress(r) => format!("smtp-address:{r}"),
        Impersonate::PrincipalName(r) => format!("principal-name:{r}"),
        Impersonate::Sid(r) => format!("sid:{r}"),
    }
}

impl Case {
    /// The case as a case file (TOML) that reads back into the same case.
    pub fn to_toml(&self) -> String {
        let request = match &self.request {
            CaseRequest::Typed {
                save_item_to_folder,
                item_ids,
                saved_item_folder_id,
                version,
                impersonate: imp,
                mailbox_culture,
            } => Request {
                sender: self.sender.name(),
                save_item_to_folder: Some(*save_item_to_folder),
                item_ids: Some(item_ids.iter().map(item_ref).collect()),
                saved_item_folder_id: saved_item_folder_id.as_ref().map(folder_ref),
                version: match version {
                    VersionHeader::Default => None,
                    VersionHeader::Omit => Some("none"),
                    VersionHeader::Version(v) => Some(v.as_str()),
                },
                impersonate: imp.as_ref().map(impersonate),
                mailbox_culture: mailbox_culture.as_deref(),
                ..Request::default()
            },
            CaseRequest::Raw(raw) => Request {
                sender: self.sender.name(),
                raw: Some(&raw.body),
                content_type: (raw.content_type != super::file::DEFAULT_CONTENT_TYPE)
                    .then_some(raw.content_type.as_str()),
                soap_action: match raw.soap_action.as_deref() {
                    None => Some(""),
                    Some(SEND_ITEM_ACTION) => None,
                    Some(other) => Some(other),
                },
                item_count: raw.item_count,
                mangle: raw.mangle.map(super::Mangle::name),
                ..Request::default()
            },
        };
        let file = CaseFile {
            id: &self.id,
            title: &self.title,
            tags: &self.tags,
            reference: &self.reference,
            requirements: &self.requirements,
            section: &self.section,
            requires: self.requires.iter().map(|r| r.name()).collect(),
            server_versions: self
                .server_versions
                .iter()
                .map(|v| v.name.as_str())
                .collect(),
            poll_timeout_secs: (self.poll_timeout != super::file::DEFAULT_POLL_TIMEOUT)
                .then_some(self.poll_timeout.as_secs()),
            setup: self
                .setup
                .iter()
                .map(|s| Setup {
                    name: &s.name,
                    owner: s.owner.name(),
                    folder: (s.folder != FolderName::Drafts).then(|| s.folder.to_string()),
                    created_by: (s.created_by != s.owner).then_some(s.created_by.name()),
                    kind: (s.kind != SetupKind::Message).then_some(s.kind.name()),
                    to: s.to.iter().map(|r| r.name()).collect(),
                    cc: s.cc.iter().map(|r| r.name()).collect(),
                    bcc: s.bcc.iter().map(|r| r.name()).collect(),
                    from: s.from.map(|r| r.name()),
                    delivery_receipt: s.delivery_receipt,
                    pre_send: s.pre_send,
                    original: s.original.as_deref(),
                })
                .collect(),
            request,
            expect: expect(&self.expect),
            quirk: self.quirk.as_ref().map(|q| Quirk {
                name: &q.name,
                reference: &q.reference,
                expect: expect(&q.expect),
            }),
        };
        // Every field is a string, number, boolean or a list or table of them: TOML holds them.
        toml::to_string_pretty(&file).unwrap_or_else(|e| format!("# not writable as TOML: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn every_case_in_the_suite_reads_back_from_what_it_writes() {
        let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases");
        let cases = crate::case::load_dir(&suite).expect("the suite loads");
        assert!(cases.len() > 50, "{}", cases.len());
        for case in cases {
            let text = case.to_toml();
            let again = crate::case::parse_case(&case.path, &text, &case.category)
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", case.id));
            assert_eq!(again.without_lines(), case.without_lines(), "{text}");
        }
    }
}
