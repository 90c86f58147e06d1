//! `report.json`: the whole [`RunSummary`], pretty-printed, every exchange with its timing.
//! Nothing is added or left out, so a tool reading it sees what the reporters saw: through
//! [`write_all`](super::write_all) that is the [prepared](super::prepare) summary, secrets
//! redacted and each body cut past the report limit with a "… truncated" note.

use crate::run::RunSummary;

/// Why `report.json` could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// serde_json refused the summary.
    #[error("cannot serialize the run summary")]
    Serialize(#[source] serde_json::Error),
}

/// Renders `summary` as pretty-printed JSON.
pub fn render(summary: &RunSummary) -> Result<String, JsonError> {
    let mut text = serde_json::to_string_pretty(summary).map_err(JsonError::Serialize)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{self, CANARY};
    use serde_json::Value;

    #[test]
    fn throttling_is_a_small_field_present_only_when_there_was_some() {
        let mut summary = fixture::summary();
        summary.throttling = crate::run::Throttling {
            waits: 4,
            waited_ms: 2100,
        };

        let parsed: Value = serde_json::from_str(&render(&summary).unwrap()).unwrap();

        assert_eq!(
            parsed["throttling"],
            serde_json::json!({"waits": 4, "waited_ms": 2100})
        );
    }

    #[test]
    fn round_trips_to_exactly_the_summary() {
        // Arrange
        let summary = fixture::summary();

        // Act
        let text = render(&summary).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();

        // Assert: the file holds the summary, nothing more, nothing less.
        assert_eq!(parsed, serde_json::to_value(&summary).unwrap());
        let keys: Vec<&str> = parsed.as_object().unwrap().keys().map(|k| &**k).collect();
        assert_eq!(
            keys,
            [
                "elapsed",
                "outcomes",
                "run_id",
                "server_version",
                "started",
                "target"
            ]
        );
        let outcome_keys: Vec<&str> = parsed["outcomes"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| &**k)
            .collect();
        assert_eq!(
            outcome_keys,
            [
                "answer",
                "category",
                "changed",
                "elapsed_ms",
                "exchanges",
                "file",
                "findings",
                "id",
                "reason",
                "reference",
                "requirements",
                "section",
                "state",
                "tags",
                "title",
                "verdict"
            ]
        );
    }

    #[test]
    fn canary_appears_only_where_the_summary_holds_it() {
        let summary = fixture::summary();

        let text = render(&summary).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();

        assert_eq!(text.matches(CANARY).count(), 1);
        let fail = &parsed["outcomes"][3];
        assert_eq!(fail["id"], "save-rules/false-with-folder");
        let response = fail["exchanges"][1]["response"].as_str().unwrap();
        assert!(response.contains(CANARY));
        assert_eq!(
            response,
            summary.outcomes[3].exchanges[1]
                .response
                .as_deref()
                .unwrap()
        );
    }

    #[test]
    fn counts_verdicts_and_timings_parse_back() {
        let summary = fixture::summary();

        let parsed: Value = serde_json::from_str(&render(&summary).unwrap()).unwrap();

        let outcomes = parsed["outcomes"].as_array().unwrap();
        let count = |v: &str| outcomes.iter().filter(|o| o["verdict"] == v).count();
        assert_eq!(
            [
                count("pass"),
                count("quirk"),
                count("fail"),
                count("skip"),
                count("error")
            ],
            [3, 1, 1, 1, 1]
        );
        assert_eq!(parsed["elapsed"].as_f64(), Some(1234.0));
        assert_eq!(
            outcomes[0]["exchanges"][0]["elapsed_ms"].as_f64(),
            Some(12.5)
        );
        assert_eq!(outcomes[0]["exchanges"][0]["status"], 200);
        assert_eq!(outcomes[5]["exchanges"][0]["status"], Value::Null);
    }
}
