//! Throttling: answers that say "not executed, come back later", and the per-account instant
//! before which nothing more is sent.
//!
//! Exchange answers a caller over its budget with `ErrorServerBusy`, as a SOAP fault or as a
//! response message, with `MessageXml/t:Value[@Name="BackOffMilliseconds"]`: the time to wait
//! before sending the request again
//! (<https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange>).
//! The request was not executed, so it is sent again once the back-off has passed — even a
//! SendItem. exchangelib does the same: its `EWSService._get_elements` catches the
//! ErrorServerBusy that `_raise_soap_errors` builds from the fault's `BackOffMilliseconds`,
//! sleeps, and sends the same payload again, and its `post_ratelimited` backs off and retries
//! on HTTP 503. HTTP 503 and 429 with `Retry-After` (RFC 9110 §10.2.3, RFC 6585 §4) are read
//! the same way.
//!
//! A back-off holds the account the request was sent as and the mailbox it acts on (its
//! `X-AnchorMailbox`): until it has passed, no request goes out as that account or to that
//! mailbox, whichever case sends it. The time one request may spend waiting out
//! back-offs is bounded by the client's timeout; past it the request ends as
//! [`TargetError::Throttled`](super::TargetError::Throttled).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::ews::{ResponseBody, ResponseCode, ResponseEnvelope};

/// The back-off assumed when ErrorServerBusy names none (it is not always present). This is the
/// harness's choice, not Exchange's; each further busy answer to the same request doubles it.
const BACK_OFF_WHEN_UNNAMED: Duration = Duration::from_secs(1);

/// How much throttling a run met: the back-offs servers asked for, and how long requests were
/// held waiting them out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Throttling {
    /// Answers that asked for a back-off (ErrorServerBusy, or 503/429 with `Retry-After`); each
    /// request was sent again after it.
    pub waits: u64,
    /// Time requests spent held back by back-offs, added up over requests, in milliseconds.
    pub waited_ms: u64,
}

impl Throttling {
    /// True when no back-off was asked for.
    pub fn is_none(&self) -> bool {
        self.waits == 0 && self.waited_ms == 0
    }

    /// What happened since `earlier`, a tally of the same client.
    pub fn since(&self, earlier: &Throttling) -> Throttling {
        Throttling {
            waits: self.waits.saturating_sub(earlier.waits),
            waited_ms: self.waited_ms.saturating_sub(earlier.waited_ms),
        }
    }
}

impl std::fmt::Display for Throttling {
    /// `throttled: 3 back-offs asked for, requests held 1.20 s in all`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = if self.waits == 1 { "" } else { "s" };
        write!(
            f,
            "throttled: {} back-off{s} asked for, requests held {:.2} s in all",
            self.waits,
            self.waited_ms as f64 / 1000.0
        )
    }
}

/// A back-off that would keep a request waiting past its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OverBudget {
    /// The time the request had already waited.
    pub waited: Duration,
}

/// The "not before" instants of the accounts that were asked to back off, and the tally.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    not_before: Mutex<HashMap<String, Instant>>,
    tally: Mutex<Throttling>,
}

impl Throttle {
    /// Holds every key in `keys` until `back_off` from now (a later instant already set stays).
    pub(crate) fn hold(&self, keys: &[String], back_off: Duration) {
        let until = Instant::now() + back_off;
        let mut map = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            let entry = map.entry(key.clone()).or_insert(until);
            *entry = (*entry).max(until);
        }
        drop(map);
        self.tally.lock().unwrap_or_else(|e| e.into_inner()).waits += 1;
    }

    /// Waits until no key in `keys` is held. `Err` without waiting when that would take past
    /// `budget_end`, the last instant the request may wait to.
    pub(crate) async fn wait_out(
        &self,
        keys: &[String],
        started: Instant,
        budget_end: Instant,
    ) -> Result<(), OverBudget> {
        loop {
            let until = {
                let map = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
                keys.iter().filter_map(|k| map.get(k)).max().copied()
            };
            let now = Instant::now();
            let Some(until) = until.filter(|u| *u > now) else {
                return Ok(());
            };
            if until > budget_end {
                return Err(OverBudget {
                    waited: now.saturating_duration_since(started),
                });
            }
            tokio::time::sleep_until(until.into()).await;
            let held =
                u64::try_from(until.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX);
            let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
            tally.waited_ms = tally.waited_ms.saturating_add(held);
            // Another busy answer may have moved the instant on meanwhile: look again.
        }
    }

    /// The tally so far.
    pub(crate) fn tally(&self) -> Throttling {
        *self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How long an answer asks the client to wait before sending the same request again, when it
/// says the request was not executed: ErrorServerBusy as a fault, or as the only code of every
/// response message (a batch where some items went through was executed in part and is never
/// sent again); or HTTP 503 or 429 with `Retry-After`. `busy_before` is how many busy answers
/// the same request already got, which doubles the back-off assumed when none is named.
pub(crate) fn back_off(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    busy_before: u32,
) -> Option<Duration> {
    if matches!(status, 503 | 429) && retry_after.is_some() {
        return retry_after;
    }
    // Cheap test first: almost no answer is a busy one.
    memchr::memmem::find(body, b"ErrorServerBusy")?;
    let named = match ResponseEnvelope::parse(body).ok()?.body {
        ResponseBody::Fault(fault) => {
            if fault.response_code() != Some(ResponseCode::ErrorServerBusy) {
                return None;
            }
            fault.detail.as_ref().and_then(|d| d.back_off())
        }
        ResponseBody::Response(r) => {
            let messages = &r.response_messages;
            if messages.is_empty()
                || messages
                    .iter()
                    .any(|m| m.response_code != Some(ResponseCode::ErrorServerBusy))
            {
                return None;
            }
            messages.iter().filter_map(|m| m.back_off()).max()
        }
    };
    Some(named.unwrap_or_else(|| BACK_OFF_WHEN_UNNAMED * 2u32.saturating_pow(busy_before.min(8))))
}

/// `Retry-After` as a wait: delay-seconds, or an HTTP-date (a date in the past is no wait).
/// RFC 9110 §10.2.3.
pub(crate) fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY_FAULT: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">29714</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>"#;

    fn messages(codes: &[(&str, Option<u64>)]) -> String {
        let mut body = String::new();
        for (code, back_off) in codes {
            let class = if *code == "NoError" {
                "Success"
            } else {
                "Error"
            };
            let xml = back_off
                .map(|ms| {
                    format!(r#"<m:MessageXml><t:Value Name="BackOffMilliseconds">{ms}</t:Value></m:MessageXml>"#)
                })
                .unwrap_or_default();
            body.push_str(&format!(
                r#"<m:SendItemResponseMessage ResponseClass="{class}"><m:ResponseCode>{code}</m:ResponseCode>{xml}</m:SendItemResponseMessage>"#
            ));
        }
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body><m:SendItemResponse><m:ResponseMessages>{body}</m:ResponseMessages></m:SendItemResponse></s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn a_busy_fault_asks_for_its_back_off() {
        assert_eq!(
            back_off(500, None, BUSY_FAULT.as_bytes(), 0),
            Some(Duration::from_millis(29714))
        );
    }

    #[test]
    fn busy_response_messages_ask_for_the_longest_back_off() {
        let body = messages(&[
            ("ErrorServerBusy", Some(300)),
            ("ErrorServerBusy", Some(700)),
        ]);
        assert_eq!(
            back_off(200, None, body.as_bytes(), 0),
            Some(Duration::from_millis(700))
        );
    }

    #[test]
    fn a_batch_executed_in_part_is_not_a_back_off() {
        let body = messages(&[("NoError", None), ("ErrorServerBusy", Some(300))]);
        assert_eq!(back_off(200, None, body.as_bytes(), 0), None);
        let other = messages(&[("ErrorItemNotFound", None)]);
        assert_eq!(back_off(200, None, other.as_bytes(), 0), None);
    }

    #[test]
    fn an_unnamed_back_off_doubles_with_each_busy_answer() {
        let body = messages(&[("ErrorServerBusy", None)]);
        assert_eq!(
            back_off(200, None, body.as_bytes(), 0),
            Some(BACK_OFF_WHEN_UNNAMED)
        );
        assert_eq!(
            back_off(200, None, body.as_bytes(), 2),
            Some(BACK_OFF_WHEN_UNNAMED * 4)
        );
    }

    #[test]
    fn unavailable_and_too_many_requests_count_only_with_retry_after() {
        let wait = Some(Duration::from_secs(2));
        assert_eq!(back_off(503, wait, b"", 0), wait);
        assert_eq!(back_off(429, wait, b"", 0), wait);
        assert_eq!(back_off(503, None, b"busy", 0), None);
        assert_eq!(back_off(500, wait, b"", 0), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        assert!(retry_after(&later).is_some_and(|d| d > Duration::from_secs(60)));
        assert_eq!(retry_after("soon"), None);
    }

    #[tokio::test]
    async fn a_held_account_waits_and_another_does_not() {
        let throttle = Throttle::default();
        let a = ["a".to_owned()];
        let b = ["b".to_owned()];
        throttle.hold(&a, Duration::from_millis(200));
        let start = Instant::now();
        let far = start + Duration::from_secs(30);
        // Another account goes at once.
        throttle.wait_out(&b, start, far).await.unwrap();
        assert_eq!(throttle.tally().waited_ms, 0);
        // The held one is let go only after the instant.
        throttle.wait_out(&a, start, far).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(200));
        assert_eq!(throttle.tally().waits, 1);
        assert!(throttle.tally().waited_ms > 0);
    }

    #[tokio::test]
    async fn a_back_off_past_the_budget_fails_without_waiting() {
        let throttle = Throttle::default();
        let a = ["a".to_owned()];
        throttle.hold(&a, Duration::from_secs(3600));
        let start = Instant::now();
        let result = throttle
            .wait_out(&a, start, start + Duration::from_secs(1))
            .await;
        assert!(result.is_err());
        assert_eq!(throttle.tally().waited_ms, 0);
    }
}
