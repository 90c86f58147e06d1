//! What a person sees in the terminal: a progress bar while a long run goes ([`Progress`]) and a
//! summary at the end ([`summary`]): the matrix by category, the totals, and for every case that
//! needs attention its Expected/Actual, reason or baseline diff.

use std::fmt::Write as _;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::judge::Verdict;
use crate::run::{Counts, Outcome, RunSummary};

/// A progress bar on stderr, one step per case. Hidden when stderr is not a terminal or when
/// disabled; drawing never fails the run.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    counts: Counts,
}

impl Progress {
    /// A bar for `total` cases, shown only when `enabled` and stderr is a terminal.
    pub fn new(total: u64, enabled: bool) -> Self {
        let bar = if enabled && std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        // The template is a constant; if indicatif ever refuses it, keep its default style.
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
        ) {
            bar.set_style(style);
        }
        Self {
            bar,
            counts: Counts::default(),
        }
    }

    /// Records one finished case: advances the bar, shows the running fail/error count, and
    /// prints a line above the bar for a case that failed or errored.
    pub fn case_done(&mut self, outcome: &Outcome) {
        match outcome.verdict {
            Verdict::Pass => self.counts.pass += 1,
            Verdict::Quirk => self.counts.quirk += 1,
            Verdict::Fail => self.counts.fail += 1,
            Verdict::Skip => self.counts.skip += 1,
            Verdict::Error => self.counts.error += 1,
        }
        if matches!(outcome.verdict, Verdict::Fail | Verdict::Error) {
            self.bar.println(format!(
                "{:<5} {}",
                outcome.verdict.name().to_uppercase(),
                clean(&outcome.id)
            ));
        }
        self.bar.set_message(format!(
            "{} fail, {} error  {}",
            self.counts.fail,
            self.counts.error,
            clean(&outcome.id)
        ));
        self.bar.inc(1);
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";

fn verdict_color(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => GREEN,
        Verdict::Quirk => YELLOW,
        Verdict::Fail => RED,
        Verdict::Skip => DIM,
        Verdict::Error => MAGENTA,
    }
}

/// Wraps `text` in `code` when colouring.
struct Paint {
    on: bool,
}

impl Paint {
    fn p(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }
}

/// The fuzz table: exchanges and failures per malformation name, the totals and rate, and for
/// each shrunk failure what broke and how to replay it. Empty when `summary` is not a fuzz run.
pub fn fuzz(summary: &RunSummary) -> String {
    let Some(tally) = &summary.fuzz else {
        return String::new();
    };
    let mut out = format!(
        "{:<34} {:>9} {:>9}\n",
        "malformation", "exchanges", "failures"
    );
    for (name, stats) in &tally.by_name {
        let _ = writeln!(
            out,
            "{name:<34} {:>9} {:>9}",
            stats.exchanges, stats.failures
        );
    }
    let secs = summary.elapsed.as_secs_f64();
    let _ = writeln!(
        out,
        "{} exchanges, {} invariants checked, {} failing malformation(s) in {secs:.2} s ({:.0} exchanges/s); seed {}",
        tally.exchanges,
        tally.invariants,
        tally.replays.len(),
        tally.exchanges as f64 / secs.max(1e-9),
        tally.seed
    );
    for replay in &tally.replays {
        let _ = writeln!(
            out,
            "\nFAIL {} (shrunk to {} ItemId(s))",
            replay.name, replay.item_ids
        );
        let id = format!("fuzz/{}", replay.name);
        for f in summary
            .outcomes
            .iter()
            .filter(|o| o.id == id)
            .flat_map(|o| &o.findings)
        {
            let _ = writeln!(
                out,
                "  {}: expected {}, actual {}",
                clean(&f.check),
                clean(&f.expected),
                clean(&f.actual)
            );
        }
        if let Some(command) = &replay.command {
            let _ = writeln!(out, "  replay: {command}");
        }
    }
    out
}

/// The quirk table as Markdown, as the README quotes it. Empty when `summary` reproduced no
/// quirk.
pub fn quirk(summary: &RunSummary) -> String {
    summary
        .quirk
        .as_ref()
        .map(|q| clean(&q.markdown()))
        .unwrap_or_default()
}

/// The end-of-run summary: the matrix by category (category | pass | quirk | fail | skip | error
/// | changed), totals, then every case that is not a plain pass: failures and errors with their
/// Expected/Actual and reference, quirks and skips with their reason, changes with their diff.
/// `color` adds ANSI colours. Text from the server is cleaned of control characters, so a
/// response cannot drive the terminal.
pub fn summary(summary: &RunSummary, color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = String::new();
    let counts = summary.counts();
    let by_category = summary.by_category();

    let names: Vec<String> = by_category.keys().map(|c| clean(c)).collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .chain(["category".len(), "total".len()])
        .max()
        .unwrap_or(8);
    let columns = ["pass", "quirk", "fail", "skip", "error", "changed"];
    let _ = write!(out, "{}", paint.p(BOLD, &format!("{:<width$}", "category")));
    for c in columns {
        let _ = write!(out, "  {}", paint.p(BOLD, &format!("{c:>7}")));
    }
    out.push('\n');
    for (name, c) in names.iter().zip(by_category.values()) {
        row(&mut out, &paint, name, c, width, false);
    }
    let _ = writeln!(out, "{}", "-".repeat(width + columns.len() * 9));
    row(&mut out, &paint, "total", &counts, width, true);

    out.push('\n');
    let mut parts = Vec::new();
    for v in Verdict::ALL {
        parts.push(paint.p(verdict_color(v), &format!("{} {v}", counts.of(v))));
    }
    let _ = write!(out, "{} cases: {}", counts.total(), parts.join(", "));
    if counts.changed > 0 {
        let _ = write!(
            out,
            "; {}",
            paint.p(BLUE, &format!("{} changed", counts.changed))
        );
    }
    let _ = writeln!(
        out,
        " in {:.2} s ({}, run {})",
        summary.elapsed.as_secs_f64(),
        clean(&summary.target),
        clean(&summary.run_id)
    );
    if !summary.throttling.is_none() {
        let _ = writeln!(out, "{}", paint.p(YELLOW, &summary.throttling.to_string()));
    }

    for v in [Verdict::Fail, Verdict::Error, Verdict::Quirk, Verdict::Skip] {
        for o in summary.outcomes.iter().filter(|o| o.verdict == v) {
            case(&mut out, &paint, o);
        }
    }
    for o in summary.outcomes.iter().filter(|o| o.changed.is_some()) {
        changed(&mut out, &paint, o);
    }
    // A known failure that passed: shown so that its entry can be removed.
    for o in summary
        .outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Pass)
    {
        if let Some(k) = &o.known {
            let _ = writeln!(
                out,
                "\n{} {}\n      {}",
                paint.p(&format!("{BOLD}{CYAN}"), "KNOWN"),
                paint.p(BOLD, &clean(&o.id)),
                clean(&k.note())
            );
        }
    }

    out.push('\n');
    let known = summary
        .outcomes
        .iter()
        .filter(|o| {
            matches!(o.verdict, Verdict::Fail | Verdict::Error)
                && o.known
                    .as_ref()
                    .is_some_and(|k| k.status == crate::known::KnownStatus::StillFails)
        })
        .count();
    let known_note = if known > 0 {
        format!(" ({known} known failure(s) among them)")
    } else {
        String::new()
    };
    if summary.conforms() {
        let _ = writeln!(out, "{}", paint.p(GREEN, "Conforms."));
    } else if counts.fail + counts.error == known {
        let _ = writeln!(
            out,
            "{}",
            paint.p(
                CYAN,
                &format!("Conforms apart from {known} known failure(s).")
            )
        );
    } else {
        let _ = writeln!(
            out,
            "{}",
            paint.p(
                RED,
                &format!(
                    "Does not conform: {} failed, {} errored{known_note}.",
                    counts.fail, counts.error
                )
            )
        );
    }
    let strict: Vec<&str> = summary
        .strict_only_failures()
        .map(|o| o.id.as_str())
        .collect();
    if !strict.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint.p(
                RED,
                &format!(
                    "Fails under --strict: {} (a quirk, or a known failure that now passes).",
                    clean(&strict.join(", "))
                )
            )
        );
    }
    out
}

fn row(out: &mut String, paint: &Paint, name: &str, c: &Counts, width: usize, bold: bool) {
    let pad = width.saturating_sub(name.chars().count());
    let label = format!("{name}{}", " ".repeat(pad));
    let _ = write!(out, "{}", if bold { paint.p(BOLD, &label) } else { label });
    for v in Verdict::ALL {
        cell(out, paint, c.of(v), verdict_color(v));
    }
    cell(out, paint, c.changed, BLUE);
    out.push('\n');
}

fn cell(out: &mut String, paint: &Paint, n: usize, code: &str) {
    let text = format!("{n:>7}");
    if n == 0 {
        let _ = write!(out, "  {}", paint.p(DIM, &text));
    } else {
        let _ = write!(out, "  {}", paint.p(code, &text));
    }
}

fn case(out: &mut String, paint: &Paint, o: &Outcome) {
    let v = o.verdict;
    let tag = paint.p(
        &format!("{BOLD}{}", verdict_color(v)),
        &format!("{:<5}", v.name().to_uppercase()),
    );
    let _ = writeln!(
        out,
        "\n{tag} {}  {}",
        paint.p(BOLD, &clean(&o.id)),
        clean(&o.title)
    );
    match v {
        Verdict::Fail | Verdict::Error => {
            let _ = writeln!(out, "      Reference: {}", clean(&o.reference));
            if !o.requirements.is_empty() {
                let ids = o.requirements.join(", ");
                let _ = writeln!(out, "      Requirements: {}", clean(&ids));
            }
        }
        _ => {}
    }
    if let Some(k) = &o.known {
        let _ = writeln!(out, "      {}", paint.p(CYAN, &clean(&k.note())));
    }
    if let Some(reason) = &o.reason {
        let label = match v {
            Verdict::Quirk => "Quirk",
            Verdict::Skip => "Skipped",
            Verdict::Error => "Error",
            _ => "Reason",
        };
        let _ = writeln!(out, "      {label}: {}", clean(reason));
    }
    if matches!(v, Verdict::Fail | Verdict::Error) {
        for f in &o.findings {
            let _ = writeln!(out, "      {}", paint.p(BOLD, &clean(&f.check)));
            if let Some(at) = o.locate(f) {
                let _ = writeln!(out, "        {} {}", paint.p(CYAN, "-->"), clean(&at));
            }
            let _ = writeln!(
                out,
                "        {} {}",
                paint.p(GREEN, "Expected:"),
                indent_rest(&clean(&f.expected), 18)
            );
            let _ = writeln!(
                out,
                "        {}   {}",
                paint.p(RED, "Actual:"),
                indent_rest(&clean(&f.actual), 18)
            );
        }
        let schema: Vec<&String> = o.exchanges.iter().flat_map(|e| &e.schema_errors).collect();
        if !schema.is_empty() {
            let _ = writeln!(out, "      Schema errors:");
            for e in schema {
                let _ = writeln!(out, "        {}", clean(e));
            }
        }
    }
}

fn changed(out: &mut String, paint: &Paint, o: &Outcome) {
    let Some(diff) = &o.changed else { return };
    let _ = writeln!(
        out,
        "\n{} {}  ({})",
        paint.p(&format!("{BOLD}{BLUE}"), "CHANGED"),
        paint.p(BOLD, &clean(&o.id)),
        o.verdict
    );
    for line in diff.lines() {
        let line = clean(line);
        let code = if line.starts_with("+++") || line.starts_with("---") {
            BOLD
        } else if line.starts_with('+') {
            GREEN
        } else if line.starts_with('-') {
            RED
        } else if line.starts_with("@@") {
            CYAN
        } else {
            ""
        };
        let text = format!("      {line}");
        if code.is_empty() {
            let _ = writeln!(out, "{text}");
        } else {
            let _ = writeln!(out, "{}", paint.p(code, &text));
        }
    }
}

/// Continuation lines of a multi-line value, indented under its first line.
fn indent_rest(s: &str, by: usize) -> String {
    s.replace('\n', &format!("\n{}", " ".repeat(by)))
}

/// Server text made safe for a terminal: control characters other than newline become their
/// Unicode control pictures, so no escape sequence reaches the terminal.
pub(crate) fn clean(s: &str) -> String {
    safe(s, true)
}

/// [`clean`] for a table cell: a newline becomes its control picture too.
pub(crate) fn clean_line(s: &str) -> String {
    safe(s, false)
}

fn safe(s: &str, keep_newline: bool) -> String {
    s.chars()
        .map(|c| match c {
            '\n' if keep_newline => '\n',
            '\t' => ' ',
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('?'),
            '\u{7f}' => '\u{2421}',
            '\u{80}'..='\u{9f}' => '\u{fffd}',
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn plain_summary_has_matrix_totals_and_details() {
        // Arrange
        let summary = fixture::summary();

        // Act
        let text = super::summary(&summary, false);

        // Assert
        assert!(!text.contains('\u{1b}'), "colour or server escape leaked");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "category       pass    quirk     fail     skip    error  changed"
        );
        assert!(
            lines.contains(&"save-rules        2        0        1        0        0        1")
        );
        assert!(
            lines.contains(&"delegate          0        1        0        1        0        0")
        );
        assert!(
            lines.contains(&"total             3        1        1        1        1        2")
        );
        for shown in [
            "7 cases: 3 pass, 1 quirk, 1 fail, 1 skip, 1 error; 2 changed",
            "FAIL  save-rules/false-with-folder  title of save-rules/false-with-folder",
            "      Reference: SendItem reference page, Remarks",
            "        Expected: ErrorInvalidSendItemSaveSettings",
            "        Actual:   NoError </pre><script>",
            "      Quirk: delegate Sent Items quirk A",
            "      Skipped: no delegate access on the target",
            "ERROR errors/timeout",
            "      Error: transport: connection reset",
            "CHANGED errors/malformed-id  (pass)",
            "      +ErrorItemNotFound",
            "Does not conform: 1 failed, 1 errored.",
        ] {
            assert!(text.contains(shown), "{shown:?} in {text}");
        }
    }

    #[test]
    fn server_escapes_cannot_reach_the_terminal() {
        let text = super::summary(&fixture::summary(), true);

        // Our own colour codes are there; the server's clear-screen is not.
        assert!(text.contains("\x1b[31m"));
        assert!(!text.contains("\x1b[2J"));
        assert!(text.contains("␛[2J"));
        assert!(!text.contains('\u{7}'));
    }

    #[test]
    fn colors_follow_verdicts() {
        let text = super::summary(&fixture::summary(), true);

        assert!(text.contains(&format!("{GREEN}3 pass{RESET}")));
        assert!(text.contains(&format!("{YELLOW}1 quirk{RESET}")));
        assert!(text.contains(&format!("{RED}1 fail{RESET}")));
        assert!(text.contains(&format!("{DIM}1 skip{RESET}")));
        assert!(text.contains(&format!("{MAGENTA}1 error{RESET}")));
    }

    #[test]
    fn a_conforming_run_says_so() {
        let mut summary = fixture::summary();
        summary
            .outcomes
            .retain(|o| matches!(o.verdict, Verdict::Pass | Verdict::Skip));

        let text = super::summary(&summary, false);

        assert!(text.trim_end().ends_with("Conforms."));
        assert!(!text.contains("FAIL "));
    }

    #[test]
    fn throttling_is_shown_only_when_there_was_some() {
        let mut summary = fixture::summary();
        assert!(!super::summary(&summary, false).contains("throttled"));

        summary.throttling = crate::run::Throttling {
            waits: 3,
            waited_ms: 1200,
        };
        let text = super::summary(&summary, false);

        assert!(
            text.contains("throttled: 3 back-offs asked for, requests held 1.20 s in all"),
            "{text}"
        );
    }

    #[test]
    fn progress_hidden_never_panics() {
        let summary = fixture::summary();
        // Fewer steps than cases: indicatif must cope.
        let mut p = Progress::new(2, false);

        for o in &summary.outcomes {
            p.case_done(o);
        }
        p.finish();

        assert_eq!(p.counts.total(), 7);
        assert_eq!(p.counts.fail, 1);
        assert!(p.bar.is_hidden());
    }
}
