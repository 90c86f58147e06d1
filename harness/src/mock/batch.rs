//! The cap on the items one request names, so that an answer stays bounded in memory.
//!
//! Each entry of a request's list (`m:ItemIds`, `m:Items`, `m:ItemChanges`, `m:FolderIds`,
//! `m:ParentFolderIds`) gets a response message of its own, so a 16 MiB request naming 600,000
//! ids would get an answer of over 100 MB. The mock counts the entries with a streaming reader
//! before the request is parsed, stopping at the first one past the cap, and refuses the request
//! with one fault.
//!
//! Evidence about Exchange is thin. Microsoft documents no per-request cap on ids: "EWS
//! throttling in Exchange" (Throttling implications for EWS batch requests) says only that a
//! batch is checked against the caller's budget item by item, that EWS limits a batch's
//! execution to one minute, and that clients should split large batches
//! (<https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange>).
//! Clients split on their own: exchangelib's `CHUNK_SIZE = 100` ("a default chunk size for all
//! services", exchangelib/services/common.py). The closest documented limit is the
//! `EWSFindCountLimit` throttling policy, the items of one user's requests held in memory on the
//! server at once, 1000 by default in Exchange 2010 (same page; "Throttling Policies and the
//! EWSFindCountLimit", Exchange developer blog), and its response code,
//! `ErrorExceededFindCountLimit`: "a search operation call has exceeded the total number of items
//! that can be returned" (ResponseCode reference,
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/responsecode>).
//! The mock takes that limit as its default ([`crate::limits::DEFAULT_MAX_ITEMS_PER_REQUEST`])
//! and that code for its answer, as a request-level SOAP fault; the fault's text is the mock's
//! own, as Exchange has none for this case.

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use crate::ews::{MESSAGES_NS, ResponseCode, SoapFault};

/// The request-level lists whose entries each get a response message.
const LISTS: &[&str] = &[
    "ItemIds",
    "Items",
    "ItemChanges",
    "FolderIds",
    "ParentFolderIds",
];

/// True when `document` names more than `cap` entries in its lists. A document that is not
/// well-formed counts as far as it can be read; the parser that runs next explains the fault.
pub fn names_more_than(document: &[u8], cap: usize) -> bool {
    let mut reader = NsReader::from_reader(document);
    let mut depth = 0usize;
    // The depth of the open list's entries.
    let mut entries_at: Option<usize> = None;
    let mut count = 0usize;
    loop {
        let Ok((namespace, event)) = reader.read_resolved_event() else {
            return false;
        };
        let entry = match &event {
            Event::Start(start) => {
                depth += 1;
                if entries_at.is_none() && is_list(&namespace, start.local_name().as_ref()) {
                    entries_at = Some(depth + 1);
                }
                entries_at == Some(depth)
            }
            Event::Empty(_) => entries_at == Some(depth + 1),
            Event::End(_) => {
                if entries_at == Some(depth + 1) {
                    entries_at = None;
                }
                depth = depth.saturating_sub(1);
                false
            }
            Event::Eof => return false,
            _ => false,
        };
        if entry {
            count += 1;
            if count > cap {
                return true;
            }
        }
    }
}

fn is_list(namespace: &ResolveResult<'_>, local_name: &str) -> bool {
    matches!(namespace, ResolveResult::Bound(Namespace(ns)) if *ns == MESSAGES_NS)
        && LISTS.contains(&local_name)
}

/// The fault for a request naming more than `cap` entries.
pub fn too_many_fault(cap: usize) -> Box<SoapFault> {
    super::server::ews_fault(
        ResponseCode::ErrorExceededFindCountLimit,
        format!(
            "The request names more than {cap} items or folders; send them in batches of at most {cap}."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_item(ids: usize) -> String {
        let id = r#"<t:ItemId Id="AAA=" ChangeKey="CQA="/>"#;
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="{MESSAGES_NS}" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body><m:SendItem SaveItemToFolder="false"><m:ItemIds>{}</m:ItemIds></m:SendItem></s:Body></s:Envelope>"#,
            id.repeat(ids)
        )
    }

    #[test]
    fn counts_the_entries_of_a_list_up_to_the_cap() {
        assert!(!names_more_than(send_item(3).as_bytes(), 3));
        assert!(names_more_than(send_item(4).as_bytes(), 3));
    }

    #[test]
    fn entries_with_children_count_once_and_other_namespaces_not_at_all() {
        let doc = format!(
            r#"<m:UpdateItem xmlns:m="{MESSAGES_NS}" xmlns:t="urn:t"><m:ItemChanges><t:ItemChange><t:ItemId Id="a"/><t:Updates/></t:ItemChange><t:ItemChange><t:ItemId Id="b"/></t:ItemChange></m:ItemChanges><x:ItemIds xmlns:x="urn:other"><x:a/><x:a/><x:a/></x:ItemIds></m:UpdateItem>"#
        );
        assert!(!names_more_than(doc.as_bytes(), 2));
        assert!(names_more_than(doc.as_bytes(), 1));
    }

    #[test]
    fn a_broken_document_is_left_to_the_parser() {
        assert!(!names_more_than(b"<m:ItemIds><unclosed", 0));
    }
}
