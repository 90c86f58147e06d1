//! Compiles long string enumerations into one equivalent pattern before libxml2 sees a schema.
//!
//! libxml2 checks an `xs:enumeration` facet by comparing the value with each listed value in
//! turn. `ResponseCodeType` lists 529 codes, so every `ResponseCode` in a response costs a few
//! hundred comparisons. For a restriction of `xs:string` whose facets are only enumerations of
//! plain names, an `xs:pattern` matching exactly those names accepts exactly the same values
//! (both facets see the unnormalized string), and written as a prefix tree it is matched in one
//! pass over the value. [`compile`] makes that rewrite; the schema files stay as written.

use std::sync::OnceLock;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, QName, ResolveResult};
use quick_xml::reader::NsReader;

const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// Shorter enumerations are left alone: they cost little, and keep libxml2's own message.
const MIN_VALUES: usize = 32;

/// An enumeration [`compile`] turned into a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The simple type's `name`.
    pub type_name: String,
    /// How many distinct values it lists.
    pub values: usize,
    /// The pattern that replaced them.
    pub pattern: String,
}

/// `schema` with every named simple type that restricts `xs:string` by enumeration facets
/// alone, with at least [`MIN_VALUES`] values that are all ASCII letters, digits and `_`,
/// rewritten to restrict it by one equivalent pattern. Each rewritten type keeps its place and
/// its line count, so the lines of everything else stay where they were. Returns the text
/// unchanged (and nothing compiled) if the schema cannot be read.
pub fn compile(schema: &str) -> (String, Vec<Compiled>) {
    let Some(found) = scan(schema) else {
        return (schema.to_owned(), Vec::new());
    };
    let mut out = String::with_capacity(schema.len());
    let mut compiled = Vec::new();
    let mut copied = 0;
    for candidate in found {
        let original = &schema[candidate.start..candidate.end];
        let pattern = trie_pattern(candidate.values.iter().map(String::as_str));
        out.push_str(&schema[copied..candidate.start]);
        let xs = candidate.prefix;
        out.push_str(&format!(
            "<{xs}simpleType name=\"{name}\"><{xs}restriction base=\"{base}\"><{xs}pattern value=\"{pattern}\"/></{xs}restriction></{xs}simpleType>",
            name = candidate.name,
            base = candidate.base,
        ));
        out.extend(std::iter::repeat_n('\n', original.matches('\n').count()));
        copied = candidate.end;
        compiled.push(Compiled {
            type_name: candidate.name,
            values: candidate.values.len(),
            pattern,
        });
    }
    out.push_str(&schema[copied..]);
    (out, compiled)
}

/// A simple type [`scan`] found suitable.
struct Candidate {
    /// Byte range of the whole `simpleType` element.
    start: usize,
    end: usize,
    /// The element's own prefix with its colon (`xs:`), or empty.
    prefix: String,
    /// The `name` and `base` attributes, as written.
    name: String,
    base: String,
    /// The distinct values, sorted.
    values: Vec<String>,
}

/// What the scan is inside of.
enum State {
    Outside,
    /// Inside a named top-level-style `simpleType`; `ok` turns false on anything but one
    /// `restriction` of `xs:string` holding enumerations (annotations are skipped).
    Type {
        candidate: Candidate,
        ok: bool,
        depth: usize,
        /// Depth at which an `annotation` being skipped started.
        skipping: Option<usize>,
        restrictions: usize,
    },
}

fn scan(schema: &str) -> Option<Vec<Candidate>> {
    let mut reader = NsReader::from_str(schema);
    reader.config_mut().trim_text(false);
    let mut found = Vec::new();
    let mut state = State::Outside;
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        let event = reader.read_event().ok()?;
        let after = usize::try_from(reader.buffer_position()).ok()?;
        let mut closed = false;
        match (&mut state, event) {
            (_, Event::Eof) => break,
            (State::Outside, Event::Start(start)) => {
                if is_xsd(&reader, &start, "simpleType")
                    && let Some(name) = attribute(&start, "name")
                {
                    state = State::Type {
                        candidate: Candidate {
                            start: before,
                            end: before,
                            prefix: prefix_of(&start),
                            name,
                            base: String::new(),
                            values: Vec::new(),
                        },
                        ok: true,
                        depth: 1,
                        skipping: None,
                        restrictions: 0,
                    };
                }
            }
            (
                State::Type {
                    candidate,
                    ok,
                    depth,
                    skipping,
                    restrictions,
                },
                event,
            ) => match event {
                Event::Start(start) => {
                    *depth += 1;
                    if skipping.is_none() {
                        if is_xsd(&reader, &start, "annotation") {
                            *skipping = Some(*depth);
                        } else if *depth == 2 && is_xsd(&reader, &start, "restriction") {
                            *restrictions += 1;
                            match attribute(&start, "base") {
                                Some(base) if is_xsd_string(&reader, &base) => {
                                    candidate.base = base;
                                }
                                _ => *ok = false,
                            }
                        } else {
                            *ok = false;
                        }
                    }
                }
                Event::Empty(start) if skipping.is_none() => match attribute(&start, "value") {
                    Some(value) if *depth == 2 && is_xsd(&reader, &start, "enumeration") => {
                        candidate.values.push(value);
                    }
                    _ if is_xsd(&reader, &start, "annotation") => {}
                    _ => *ok = false,
                },
                Event::End(_) => {
                    if *skipping == Some(*depth) {
                        *skipping = None;
                    }
                    *depth -= 1;
                    closed = *depth == 0;
                }
                Event::Text(text)
                    if skipping.is_none()
                        && !text.as_ref().bytes().all(|b| b.is_ascii_whitespace()) =>
                {
                    *ok = false;
                }
                Event::CData(_) | Event::GeneralRef(_) if skipping.is_none() => *ok = false,
                _ => {}
            },
            _ => {}
        }
        if closed
            && let State::Type {
                mut candidate,
                ok,
                restrictions,
                ..
            } = std::mem::replace(&mut state, State::Outside)
        {
            candidate.end = after;
            candidate.values.sort_unstable();
            candidate.values.dedup();
            let plain = candidate.values.iter().all(|v| {
                !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            if ok && restrictions == 1 && plain && candidate.values.len() >= MIN_VALUES {
                found.push(candidate);
            }
        }
    }
    Some(found)
}

fn is_xsd(reader: &NsReader<&[u8]>, start: &BytesStart<'_>, local: &str) -> bool {
    let (ns, name) = reader.resolver().resolve_element(start.name());
    matches!(ns, ResolveResult::Bound(Namespace(XSD_NS))) && name.as_ref() == local
}

/// Whether the QName `base` names `xs:string` under the namespaces in scope.
fn is_xsd_string(reader: &NsReader<&[u8]>, base: &str) -> bool {
    let (ns, name) = reader.resolver().resolve_element(QName(base.trim()));
    matches!(ns, ResolveResult::Bound(Namespace(XSD_NS))) && name.as_ref() == "string"
}

fn prefix_of(start: &BytesStart<'_>) -> String {
    start
        .name()
        .prefix()
        .map(|p| format!("{}:", p.as_ref()))
        .unwrap_or_default()
}

/// An attribute's value, as written (escapes kept, so it can be copied back into XML).
fn attribute(start: &BytesStart<'_>, key: &str) -> Option<String> {
    let attr = start.try_get_attribute(key).ok()??;
    Some(attr.value.into_owned())
}

/// An XSD regular expression matching exactly `values` (non-empty plain names, in any order,
/// repeats allowed): a prefix tree, so each branch point is decided by one character.
pub fn trie_pattern<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let mut values: Vec<&str> = values.into_iter().collect();
    values.sort_unstable();
    values.dedup();
    let mut out = String::new();
    alternatives(&values, &mut out);
    out
}

/// Writes the alternatives for `tails` (sorted; `""` first if a value may end here).
fn alternatives(tails: &[&str], out: &mut String) {
    let (optional, rest) = match tails.split_first() {
        Some((&"", rest)) => (true, rest),
        _ => (false, tails),
    };
    if rest.is_empty() {
        return;
    }
    let groups: Vec<&[&str]> = rest
        .chunk_by(|a, b| a.as_bytes().first() == b.as_bytes().first())
        .collect();
    let wrap = optional || groups.len() > 1;
    if wrap {
        out.push('(');
    }
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        let shared = common_prefix(group);
        out.push_str(shared);
        let tails: Vec<&str> = group.iter().map(|v| &v[shared.len()..]).collect();
        alternatives(&tails, out);
    }
    if wrap {
        out.push(')');
        if optional {
            out.push('?');
        }
    }
}

fn common_prefix<'a>(group: &[&'a str]) -> &'a str {
    let first = group[0];
    let len = group.iter().skip(1).fold(first.len(), |len, v| {
        first
            .bytes()
            .zip(v.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count()
    });
    &first[..len]
}

/// The types the embedded schemas had compiled, for [`describe`].
static COMPILED: OnceLock<Vec<Compiled>> = OnceLock::new();

/// Records what [`compile`] did to the embedded schemas (once per process).
pub fn remember(compiled: Vec<Compiled>) {
    let _ = COMPILED.set(compiled);
}

/// What [`remember`] recorded.
#[cfg(test)]
pub fn remembered() -> &'static [Compiled] {
    COMPILED.get().map_or(&[], Vec::as_slice)
}

/// libxml2's message for a value a compiled pattern refused, said as the enumeration it
/// stands for; `None` for any other message.
pub fn describe(message: &str) -> Option<String> {
    let (head, rest) = message.split_once("[facet 'pattern'] The value '")?;
    COMPILED.get()?.iter().find_map(|c| {
        let value = rest
            .strip_suffix("'.")?
            .strip_suffix(c.pattern.as_str())?
            .strip_suffix("' is not accepted by the pattern '")?;
        Some(format!(
            "{head}[facet 'enumeration'] The value '{value}' is not one of the {} values of {}.",
            c.values, c.type_name
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const XS: &str = "http://www.w3.org/2001/XMLSchema";

    fn schema(body: &str) -> String {
        format!(r#"<xs:schema xmlns:xs="{XS}" targetNamespace="urn:t">{body}</xs:schema>"#)
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("Code{i}")).collect()
    }

    fn enumeration(name: &str, base: &str, values: &[String]) -> String {
        let facets: String = values
            .iter()
            .map(|v| format!("\n    <xs:enumeration value=\"{v}\"/>"))
            .collect();
        format!(
            "<xs:simpleType name=\"{name}\">\n  <xs:restriction base=\"{base}\">{facets}\n  </xs:restriction>\n</xs:simpleType>"
        )
    }

    #[test]
    fn prefix_tree_patterns_branch_on_one_character() {
        assert_eq!(trie_pattern(["NoError"]), "NoError");
        assert_eq!(
            trie_pattern(["ErrorA", "ErrorB", "NoError"]),
            "(Error(A|B)|NoError)"
        );
        assert_eq!(trie_pattern(["Error", "ErrorX"]), "Error(X)?");
        assert_eq!(trie_pattern(["ab", "abc", "abd"]), "ab(c|d)?");
    }

    #[test]
    fn long_string_enumerations_become_patterns_in_place() {
        let values = names(40);
        let text = schema(&format!(
            "\n{}\n<xs:element name=\"after\"/>",
            enumeration("Big", "xs:string", &values)
        ));
        let (out, compiled) = compile(&text);
        assert_eq!(compiled.len(), 1);
        assert_eq!(compiled[0].type_name, "Big");
        assert_eq!(compiled[0].values, 40);
        assert!(out.contains(&format!(
            "<xs:restriction base=\"xs:string\"><xs:pattern value=\"{}\"/>",
            compiled[0].pattern
        )));
        assert!(!out.contains("xs:enumeration"));
        assert_eq!(out.lines().count(), text.lines().count());
        let line_of = |s: &str| s.lines().position(|l| l.contains("name=\"after\""));
        assert_eq!(line_of(&out), line_of(&text));
    }

    #[test]
    fn annotations_are_skipped_and_other_prefixes_resolved() {
        let facets: String = names(40)
            .iter()
            .map(|v| {
                format!(
                    "<s:enumeration value=\"{v}\"><s:annotation><s:documentation>d</s:documentation></s:annotation></s:enumeration>"
                )
            })
            .collect();
        let text = format!(
            r#"<s:schema xmlns:s="{XS}"><s:simpleType name="T"><s:annotation><s:documentation>x</s:documentation></s:annotation><s:restriction base="s:string">{facets}</s:restriction></s:simpleType></s:schema>"#
        );
        let (out, compiled) = compile(&text);
        // An enumeration with children is not the plain form: left alone.
        assert!(compiled.is_empty());
        assert_eq!(out, text);

        let plain: String = names(40)
            .iter()
            .map(|v| format!("<s:enumeration value=\"{v}\"/>"))
            .collect();
        let text = format!(
            r#"<s:schema xmlns:s="{XS}"><s:simpleType name="T"><s:annotation><s:documentation>x</s:documentation></s:annotation><s:restriction base="s:string">{plain}</s:restriction></s:simpleType></s:schema>"#
        );
        let (out, compiled) = compile(&text);
        assert_eq!(compiled.len(), 1);
        assert!(out.contains("<s:pattern value="));
    }

    #[test]
    fn anything_else_is_left_as_written() {
        let values = names(40);
        let mut odd = values.clone();
        odd.push("has space".to_owned());
        let short = names(5);
        let mixed = format!(
            "<xs:simpleType name=\"M\"><xs:restriction base=\"xs:string\"><xs:maxLength value=\"9\"/>{}</xs:restriction></xs:simpleType>",
            values
                .iter()
                .map(|v| format!("<xs:enumeration value=\"{v}\"/>"))
                .collect::<String>()
        );
        for body in [
            enumeration("NotString", "xs:token", &values),
            enumeration("Odd", "xs:string", &odd),
            enumeration("Short", "xs:string", &short),
            mixed,
        ] {
            let text = schema(&body);
            let (out, compiled) = compile(&text);
            assert!(compiled.is_empty(), "{body}");
            assert_eq!(out, text);
        }
        let broken = "<xs:schema><xs:simpleType";
        assert_eq!(compile(broken).0, broken);
    }
}
