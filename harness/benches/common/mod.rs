//! Helpers shared by the benchmarks: the ~2 KB SendItemResponse envelope the validation
//! benchmarks validate, medians, the schema files as xmllint is given them, and figures measured
//! in a fresh child process of the benchmark itself (peak memory among them).

// Each benchmark uses some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// A SendItemResponse envelope of at least 2 KB with a mix of success and error messages.
pub fn envelope() -> String {
    let messages = [
        ("Success", None, "NoError", None),
        (
            "Error",
            Some("Id is malformed."),
            "ErrorInvalidIdMalformed",
            Some(0),
        ),
        (
            "Error",
            Some("The specified object was not found in the store."),
            "ErrorItemNotFound",
            Some(0),
        ),
        (
            "Error",
            Some("Access is denied. Check credentials and try again."),
            "ErrorAccessDenied",
            Some(0),
        ),
    ];
    let mut body = String::new();
    let mut i = 0;
    while body.len() < 1_450 {
        let (class, text, code, key) = messages[i % messages.len()];
        body.push_str(&format!(
            "        <m:SendItemResponseMessage ResponseClass=\"{class}\">\n"
        ));
        if let Some(text) = text {
            body.push_str(&format!(
                "          <m:MessageText>{text}</m:MessageText>\n"
            ));
        }
        body.push_str(&format!(
            "          <m:ResponseCode>{code}</m:ResponseCode>\n"
        ));
        if let Some(key) = key {
            body.push_str(&format!(
                "          <m:DescriptiveLinkKey>{key}</m:DescriptiveLinkKey>\n"
            ));
        }
        body.push_str("        </m:SendItemResponseMessage>\n");
        i += 1;
    }
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{SOAP}">
  <s:Header>
    <h:ServerVersionInfo xmlns:h="{T}" MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6"/>
  </s:Header>
  <s:Body>
    <m:SendItemResponse xmlns:m="{M}" xmlns:t="{T}">
      <m:ResponseMessages>
{body}      </m:ResponseMessages>
    </m:SendItemResponse>
  </s:Body>
</s:Envelope>
"#
    )
}

/// The median of `values` (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The wrapper schema [`write_schemas`] writes, which imports the others.
pub const WRAPPER: &str = "wrapper.xsd";

/// Writes `schemas` (file name, text) into `dir`, with [`WRAPPER`] beside them: the schema to
/// give `xmllint --schema`, importing the `xml:` namespace, the SOAP envelope and EWS messages
/// as ewsconf's own wrapper does.
pub fn write_schemas<'a>(
    dir: &Path,
    schemas: impl Iterator<Item = (&'a str, &'a str)>,
) -> std::io::Result<()> {
    for (name, text) in schemas {
        std::fs::write(dir.join(name), text)?;
    }
    std::fs::write(
        dir.join(WRAPPER),
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:ewsconf:schema-set">
  <xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="xml.xsd"/>
  <xs:import namespace="{SOAP}" schemaLocation="soap-envelope.xsd"/>
  <xs:import namespace="{M}" schemaLocation="messages.xsd"/>
</xs:schema>
"#
        ),
    )
}

/// The suite in `cases/`.
pub fn suite_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../cases"))
}

/// This process's high-water mark of resident memory (`VmHWM`), in MiB; NaN where
/// `/proc/self/status` does not say.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The argument after `--child` when this benchmark runs as a child measuring one figure.
pub fn child_arg() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--child")?;
    args.get(i + 1).cloned()
}

/// Runs this benchmark again in a fresh process with `--child arg`: the numbers it printed on
/// stdout, and all it printed (stdout, then stderr) for a message when they are not what was
/// expected.
pub fn child_figures(arg: &str) -> (Vec<f64>, String) {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .args(["--child", arg])
        .output()
        .expect("child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let figures = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let said = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
    (figures, said)
}
