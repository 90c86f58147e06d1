//! `junit.xml`: one testsuite per category and one testcase per case, for CI dashboards.
//!
//! `fail` is a `<failure>` whose text holds every Expected/Actual and the reference, `error` an
//! `<error>` with the reason, `skip` a `<skipped>` with the reason. `quirk` passes and names the
//! quirk in `<system-out>`; a baseline change adds its diff to `<system-out>` without changing
//! the verdict, which is the runner's to decide. A known failure (`--known`) that failed is a
//! `<skipped type="known-failure">` with its reason and link, which are also testcase properties.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::judge::{Finding, Verdict};
use crate::run::{Outcome, RunSummary};

/// Why `junit.xml` could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    /// quick-junit could not serialize the report.
    #[error("cannot serialize the JUnit report")]
    Serialize(#[source] quick_junit::SerializeError),
}

/// Renders `summary` as JUnit XML.
pub fn render(summary: &RunSummary) -> Result<String, JunitError> {
    let mut report = Report::new(xml_text(&format!("ewsconf {}", summary.run_id)));
    report.set_time(summary.elapsed);
    for category in summary.by_category().keys() {
        let mut suite = TestSuite::new(xml_text(category));
        suite.add_properties([
            Property::new("run-id", xml_text(&summary.run_id)),
            Property::new("target", xml_text(&summary.target)),
            Property::new(
                "server-version",
                xml_text(summary.server_version.as_deref().unwrap_or("unknown")),
            ),
            Property::new("started", xml_text(&summary.started)),
        ]);
        let cases: Vec<&Outcome> = summary
            .outcomes
            .iter()
            .filter(|o| o.category == *category)
            .collect();
        suite.set_time(cases.iter().map(|o| millis(o.elapsed_ms)).sum());
        suite.add_test_cases(cases.into_iter().map(|o| test_case(o, summary.strict)));
        report.add_test_suite(suite);
    }
    report.to_string().map_err(JunitError::Serialize)
}

fn test_case(o: &Outcome, strict: bool) -> TestCase {
    let mut status = match (o.verdict, &o.changed) {
        // A regression run fails on a change in behaviour, whatever the verdict.
        (Verdict::Pass | Verdict::Quirk, Some(diff)) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message("behaviour changed from the baseline");
            s.set_type("changed");
            s.set_description(xml_text(&format!("changed from the baseline:\n{diff}")));
            s
        }
        // Under --strict a documented quirk fails the run, so CI must show it red too.
        (Verdict::Quirk, None) if strict => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let reason = o
                .reason
                .as_deref()
                .unwrap_or("documented Exchange deviation");
            s.set_message(xml_text(&one_line(&format!(
                "quirk under --strict: {reason}"
            ))));
            s.set_type("quirk-strict");
            s.set_description(xml_text(&failure_text(o)));
            s
        }
        (Verdict::Pass | Verdict::Quirk, None) => TestCaseStatus::success(),
        (Verdict::Fail, _) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = match o.findings.first() {
                Some(f) => finding_summary(f),
                None => o.reason.clone().unwrap_or_else(|| "fail".to_owned()),
            };
            s.set_message(xml_text(&one_line(&message)));
            s.set_type("conformance");
            let mut text = failure_text(o);
            if let Some(diff) = &o.changed {
                let _ = write!(text, "\nchanged from the baseline:\n{diff}");
            }
            s.set_description(xml_text(&text));
            s
        }
        (Verdict::Error, _) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            let reason = o
                .reason
                .as_deref()
                .unwrap_or("the harness could not finish");
            s.set_message(xml_text(&one_line(reason)));
            s.set_type("harness-error");
            s.set_description(xml_text(&format!("{reason}\nReference: {}\n", o.reference)));
            s
        }
        (Verdict::Skip, _) => {
            let mut s = TestCaseStatus::skipped();
            let reason = o.reason.as_deref().unwrap_or("precondition not met");
            s.set_message(xml_text(&one_line(reason)));
            s
        }
    };
    if let (Some(k), None) = (&o.known, &o.changed) {
        known_status(&mut status, o, k);
    }
    let mut case = TestCase::new(xml_text(&o.id), status);
    case.set_classname(xml_text(&o.category));
    case.set_time(millis(o.elapsed_ms));
    // One property per requirement id, as CI dashboards list properties: selectable by id.
    for id in &o.requirements {
        case.add_property(Property::new("requirement", xml_text(id)));
    }
    if let Some(section) = &o.section {
        case.add_property(Property::new("section", xml_text(section)));
    }
    if let Some(k) = &o.known {
        case.add_property(Property::new("known-reason", xml_text(&k.reason)));
        if let Some(link) = &k.link {
            case.add_property(Property::new("known-link", xml_text(link)));
        }
    }

    let mut out = String::new();
    if let Some(k) = &o.known {
        let _ = writeln!(out, "{}", k.note());
    }
    if o.verdict == Verdict::Quirk {
        let reason = o
            .reason
            .as_deref()
            .unwrap_or("documented Exchange deviation");
        let _ = writeln!(out, "quirk: {reason}");
        write_findings(&mut out, o);
        let _ = writeln!(out, "Reference: {}", o.reference);
    }
    if let Some(diff) = &o.changed {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "changed from the baseline:\n{diff}");
    }
    // Bodies stay in report.json and report.html; say here when those were cut short.
    for e in &o.exchanges {
        for body in std::iter::once(&e.request).chain(&e.response) {
            if let Some((_, note)) = super::truncation(body) {
                let _ = writeln!(out, "{}: {}", e.label(), note.trim_start());
            }
        }
    }
    if !out.is_empty() {
        case.set_system_out(xml_text(&out));
    }
    case
}

/// A known failure that failed is `<skipped type="known-failure">` with the reason and link as
/// its message and the failure as its text: CI dashboards show a skipped test as neither green nor
/// red, and show its message, which is what a tolerated failure is. A known failure that passed
/// under `--strict` is a `<failure type="known-now-passes">`, since it fails the run.
fn known_status(status: &mut TestCaseStatus, o: &Outcome, k: &crate::known::Known) {
    use crate::known::KnownStatus;
    match k.status {
        KnownStatus::StillFails if matches!(o.verdict, Verdict::Fail | Verdict::Error) => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(xml_text(&one_line(&k.note())));
            s.set_type("known-failure");
            s.set_description(xml_text(&format!("{}\n{}", k.note(), failure_text(o))));
            *status = s;
        }
        KnownStatus::NowPasses if k.strict => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(xml_text(&one_line(&k.note())));
            s.set_type("known-now-passes");
            *status = s;
        }
        _ => {}
    }
}

/// `check: expected X, got Y`, the one-line form used as a failure message.
fn finding_summary(f: &Finding) -> String {
    format!("{}: expected {}, got {}", f.check, f.expected, f.actual)
}

/// Each finding of `o`: the check, where the case file states it, what was expected and what
/// came.
fn write_findings(out: &mut String, o: &Outcome) {
    for f in &o.findings {
        let _ = writeln!(out, "{}", f.check);
        if let Some(at) = o.locate(f) {
            let _ = writeln!(out, "  --> {at}");
        }
        let _ = writeln!(out, "  Expected: {}\n  Actual: {}", f.expected, f.actual);
    }
}

fn failure_text(o: &Outcome) -> String {
    let mut out = String::new();
    write_findings(&mut out, o);
    if let Some(reason) = &o.reason {
        let _ = writeln!(out, "Reason: {reason}");
    }
    let schema: Vec<&String> = o.exchanges.iter().flat_map(|e| &e.schema_errors).collect();
    if !schema.is_empty() {
        out.push_str("Schema errors:\n");
        for e in schema {
            let _ = writeln!(out, "  {e}");
        }
    }
    let _ = writeln!(out, "Reference: {}", o.reference);
    out
}

/// Milliseconds as a `Duration`; negative, NaN or absurd values become zero rather than panic.
fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or_default()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Drops the characters XML 1.0 cannot carry even escaped (quick-junit already drops the C0
/// controls and ANSI escapes, but not U+FFFE/U+FFFF).
fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
                || c >= '\u{10000}'
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{self, HOSTILE};
    use quick_xml::events::Event;
    use quick_xml::{Reader, XmlVersion};

    #[derive(Default, Debug)]
    struct Tally {
        suites: usize,
        cases: usize,
        failures: usize,
        errors: usize,
        skipped: usize,
        failure_text: String,
        system_out: String,
        case_names: Vec<String>,
    }

    /// Parses the XML strictly with quick-xml, counting elements; panics if it is not
    /// well-formed.
    fn tally(xml: &str) -> Tally {
        let mut reader = Reader::from_str(xml);
        let mut t = Tally::default();
        let mut stack: Vec<String> = Vec::new();
        loop {
            let ev = reader.read_event().expect("well-formed XML");
            match &ev {
                Event::Start(e) | Event::Empty(e) => {
                    let name = (*e.name().as_ref()).to_owned();
                    for a in e.attributes() {
                        let a = a.expect("well-formed attribute");
                        if name == "testcase" && a.key.as_ref() == "name" {
                            t.case_names.push(
                                a.normalized_value(XmlVersion::Implicit1_0)
                                    .unwrap()
                                    .into_owned(),
                            );
                        }
                    }
                    match name.as_str() {
                        "testsuite" => t.suites += 1,
                        "testcase" => t.cases += 1,
                        "failure" => t.failures += 1,
                        "error" => t.errors += 1,
                        "skipped" => t.skipped += 1,
                        _ => {}
                    }
                    if matches!(ev, Event::Start(_)) {
                        stack.push(name);
                    }
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(text) => {
                    let s = text.xml10_content().into_owned();
                    match stack.last().map(String::as_str) {
                        Some("failure") => t.failure_text.push_str(&s),
                        Some("system-out") => t.system_out.push_str(&s),
                        _ => {}
                    }
                }
                Event::GeneralRef(r) => {
                    let ch = r
                        .resolve_char_ref()
                        .unwrap()
                        .map(String::from)
                        .or_else(|| {
                            quick_xml::escape::resolve_predefined_entity(r).map(str::to_owned)
                        })
                        .unwrap();
                    match stack.last().map(String::as_str) {
                        Some("failure") => t.failure_text.push_str(&ch),
                        Some("system-out") => t.system_out.push_str(&ch),
                        _ => {}
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(stack.is_empty(), "unclosed elements {stack:?}");
        t
    }

    #[test]
    fn one_suite_per_category_and_one_case_per_outcome() {
        // Arrange
        let summary = fixture::summary();

        // Act
        let xml = render(&summary).unwrap();
        let t = tally(&xml);

        // Assert
        assert_eq!(t.suites, 3, "{xml}");
        assert_eq!(t.cases, 7);
        // The failed case, and the passing case whose behaviour changed from the baseline.
        assert_eq!(t.failures, 2);
        assert_eq!(t.errors, 1);
        assert_eq!(t.skipped, 1);
        assert!(
            t.case_names
                .contains(&"save-rules/false-with-folder".to_owned())
        );
        assert!(xml.contains(r#"<testsuites name="ewsconf 20250101T000000Z-abc" tests="7" skipped="1" failures="2" errors="1" time="1.234">"#), "{xml}");
        assert!(xml.contains(r#"classname="save-rules""#));
        assert!(xml.contains(r#"time="0.040""#), "{xml}");
    }

    #[test]
    fn failure_carries_expected_actual_and_reference() {
        let xml = render(&fixture::summary()).unwrap();

        let t = tally(&xml);

        assert!(
            xml.contains(
                "message=\"message 1 code: expected ErrorInvalidSendItemSaveSettings, got NoError &lt;/pre&gt;"
            ),
            "{xml}"
        );
        assert!(
            t.failure_text
                .contains("Expected: ErrorInvalidSendItemSaveSettings")
        );
        assert!(
            t.failure_text
                .contains("Actual: NoError </pre><script>alert(1)</script>]]>")
        );
        assert!(t.failure_text.contains("Expected: a valid response"));
        assert!(t.failure_text.contains("Actual: 1 schema error"));
        assert!(
            t.failure_text
                .contains("Reference: SendItem reference page, Remarks")
        );
        assert!(t.failure_text.contains("1:22: Element 'Body'"));
    }

    #[test]
    fn quirk_goes_to_system_out_and_a_change_also_to_the_failure_text() {
        let xml = render(&fixture::summary()).unwrap();

        let t = tally(&xml);

        assert!(
            t.system_out.contains("quirk: delegate Sent Items quirk A"),
            "{}",
            t.system_out
        );
        assert!(
            t.system_out
                .contains("-ErrorInvalidIdMalformed\n+ErrorItemNotFound")
        );
        assert!(t.system_out.contains("changed from the baseline"));
        assert!(
            t.failure_text
                .contains("changed from the baseline:\n--- baseline"),
            "{}",
            t.failure_text
        );
        assert!(
            t.failure_text
                .contains("-ErrorInvalidIdMalformed\n+ErrorItemNotFound"),
            "{}",
            t.failure_text
        );
    }

    #[test]
    fn hostile_text_keeps_the_document_well_formed() {
        let xml = render(&fixture::summary()).unwrap();

        let _ = tally(&xml);

        assert!(!xml.contains("<script>"));
        assert!(!xml.contains('\u{1b}'));
        assert!(!xml.contains('\u{ffff}'));
        assert!(HOSTILE.contains('\u{ffff}'));
    }

    #[test]
    fn quick_junit_reads_it_back() {
        let xml = render(&fixture::summary()).unwrap();

        let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();

        assert_eq!(report.tests, 7);
        assert_eq!(report.failures, 2);
        assert_eq!(report.errors, 1);
    }

    #[test]
    fn bad_times_do_not_panic() {
        let mut summary = fixture::summary();
        summary.outcomes[0].elapsed_ms = f64::NAN;
        summary.outcomes[1].elapsed_ms = -5.0;
        summary.outcomes[2].elapsed_ms = f64::INFINITY;

        let t = tally(&render(&summary).unwrap());

        assert_eq!(t.cases, 7);
    }
}
