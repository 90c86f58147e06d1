//! The comparison as plain text for the terminal: verdict counts by category and run, the cases
//! whose verdicts differ, and a closing `N cases, M differ` line. Columns are aligned; text from
//! the reports is cleaned of control characters so that no escape sequence reaches the terminal.

use std::fmt::Write as _;

use super::Comparison;
use crate::report::terminal::clean_line as clean;
use crate::run::Counts;

/// Renders the tables and the closing line, each line ending in a newline.
pub fn render(c: &Comparison<'_>) -> String {
    let labels: Vec<String> = c.runs.iter().map(|r| clean(&r.label)).collect();
    let mut out = String::new();

    let rows: Vec<Vec<String>> = c
        .categories
        .iter()
        .map(|(category, counts)| {
            let mut row = vec![clean(category)];
            row.extend(counts.iter().map(counts_text));
            row
        })
        .collect();
    table(&mut out, "category", &labels, &rows);

    let differing: Vec<Vec<String>> = c
        .rows
        .iter()
        .filter(|r| r.differs())
        .map(|r| {
            let mut row = vec![clean(r.id)];
            row.extend(
                r.cells
                    .iter()
                    .map(|cell| cell.map_or_else(|| "—".to_owned(), |o| o.verdict.to_string())),
            );
            row
        })
        .collect();
    if !differing.is_empty() {
        out.push('\n');
        table(&mut out, "differing case", &labels, &differing);
    }
    let _ = writeln!(out, "\n{} cases, {} differ", c.rows.len(), differing.len());
    out
}

/// `12 pass 1 fail`; `—` when the run has no case of the category.
fn counts_text(c: &Counts) -> String {
    if c.total() == 0 {
        return "—".to_owned();
    }
    let parts: Vec<String> = c.nonzero().map(|(v, n)| format!("{n} {v}")).collect();
    parts.join(" ")
}

/// Writes a header line (`first`, then `labels`) and `rows`, every column padded to its widest
/// cell.
fn table(out: &mut String, first: &str, labels: &[String], rows: &[Vec<String>]) {
    let mut header = vec![first.to_owned()];
    header.extend(labels.iter().cloned());
    let mut widths: Vec<usize> = header.iter().map(|s| s.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let _ = write!(line, "{cell:<w$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::compare;
    use crate::compare::tests::{case, run};
    use crate::judge::Verdict;

    #[test]
    fn lists_categories_then_differing_cases_aligned() {
        let runs = [
            run(
                "documented",
                vec![
                    case("delegate/copy", "delegate", Verdict::Quirk),
                    case("delegate/same", "delegate", Verdict::Pass),
                ],
            ),
            run(
                "intended",
                vec![
                    case("delegate/copy", "delegate", Verdict::Pass),
                    case("delegate/same", "delegate", Verdict::Pass),
                    case("other/x", "other", Verdict::Fail),
                ],
            ),
        ];
        let text = render(&compare(&runs));
        assert_eq!(
            text,
            "category  documented      intended\n\
             delegate  1 pass 1 quirk  2 pass\n\
             other     —               1 fail\n\
             \n\
             differing case  documented  intended\n\
             delegate/copy   quirk       pass\n\
             other/x         —           fail\n\
             \n\
             3 cases, 2 differ\n"
        );
    }

    #[test]
    fn agreeing_runs_say_0_differ_and_escapes_are_cleaned() {
        let runs = [
            run("a\u{1b}[31m", vec![case("x", "c", Verdict::Pass)]),
            run("b", vec![case("x", "c", Verdict::Pass)]),
        ];
        let text = render(&compare(&runs));
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.ends_with("\n1 cases, 0 differ\n"), "{text}");
        assert!(!text.contains("differing case"));
    }
}
