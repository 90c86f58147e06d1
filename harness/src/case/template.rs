//! Raw request bodies with placeholders (`{{id:draft}}`, `{{address:principal}}`, …): read once
//! into text and slots, then filled in one pass with what the target reports.

use super::{FolderName, Role};

/// One placeholder of a raw body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder<'a> {
    /// `{{id:NAME}}`: the setup item's id.
    Id(&'a str),
    /// `{{changekey:NAME}}`: its current change key.
    ChangeKey(&'a str),
    /// `{{stalekey:NAME}}`: the change key it had before the runner changed it.
    StaleKey(&'a str),
    /// `{{deleted}}`: a well-formed id of an item that no longer exists.
    Deleted,
    /// `{{address:ROLE}}`: the role's address.
    Address(Role),
    /// `{{folderid:ROLE:FOLDER}}`: the `FolderId` the server reports for the role's folder.
    FolderId(Role, FolderName),
    /// `{{marker}}`: the run's marker.
    Marker,
}

impl<'a> Placeholder<'a> {
    /// Reads the inside of `{{…}}`; `None` when it is not a placeholder.
    fn parse(inner: &'a str) -> Option<Self> {
        Some(match inner.split_once(':') {
            None if inner == "marker" => Placeholder::Marker,
            None if inner == "deleted" => Placeholder::Deleted,
            Some(("id", name)) => Placeholder::Id(name),
            Some(("changekey", name)) => Placeholder::ChangeKey(name),
            Some(("stalekey", name)) => Placeholder::StaleKey(name),
            Some(("address", role)) => Placeholder::Address(Role::from_name(role)?),
            Some(("folderid", place)) => {
                let (role, folder) = place.split_once(':')?;
                Placeholder::FolderId(Role::from_name(role)?, FolderName::parse(folder)?)
            }
            _ => return None,
        })
    }

    /// The setup item it names, if any.
    pub fn item(self) -> Option<&'a str> {
        match self {
            Placeholder::Id(n) | Placeholder::ChangeKey(n) | Placeholder::StaleKey(n) => Some(n),
            _ => None,
        }
    }
}

/// Why a raw body's placeholders cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` with no `}}` after it.
    #[error("a `{{{{` placeholder is not closed with `}}}}`")]
    Unclosed,
    /// `{{…}}` that names no placeholder.
    #[error(
        "unknown placeholder {{{{{0}}}}}: use {{{{id:NAME}}}}, {{{{changekey:NAME}}}}, {{{{stalekey:NAME}}}}, {{{{deleted}}}}, {{{{address:ROLE}}}}, {{{{folderid:ROLE:FOLDER}}}} or {{{{marker}}}}"
    )]
    Unknown(String),
}

/// A raw body split into literal text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template<'a> {
    parts: Vec<Part<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part<'a> {
    Text(&'a str),
    Slot(Placeholder<'a>),
}

impl<'a> Template<'a> {
    /// Splits `body`; every `{{…}}` must be a placeholder.
    pub fn parse(body: &'a str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = body;
        while let Some(start) = find_open(rest) {
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
            let inner = &after[..end];
            let slot = Placeholder::parse(inner)
                .ok_or_else(|| TemplateError::Unknown(inner.to_owned()))?;
            if start > 0 {
                parts.push(Part::Text(&rest[..start]));
            }
            parts.push(Part::Slot(slot));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest));
        }
        Ok(Self { parts })
    }

    /// Every placeholder, in order of appearance (repeats included).
    pub fn placeholders(&self) -> impl Iterator<Item = Placeholder<'a>> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Slot(s) => Some(*s),
            Part::Text(_) => None,
        })
    }

    /// The body with each placeholder replaced by `value(placeholder)`, XML-escaped for an
    /// attribute or text.
    pub fn fill<E>(
        &self,
        mut value: impl FnMut(Placeholder<'a>) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot(s) => escape_into(&mut out, &value(*s)?),
            }
        }
        Ok(out)
    }
}

/// Where the next `{{` starts. XML bodies rarely hold a `{`, so a byte search for it is cheap.
fn find_open(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'{', &bytes[from..]) {
        let at = from + i;
        if bytes.get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_read_and_filled_in_one_pass() {
        let body = "<a Id=\"{{id:d0}}\" CK=\"{{changekey:d0}}\">{{address:principal}} {{folderid:principal:inbox}} {{marker}}</a>";
        let t = Template::parse(body).unwrap();
        assert_eq!(
            t.placeholders().collect::<Vec<_>>(),
            vec![
                Placeholder::Id("d0"),
                Placeholder::ChangeKey("d0"),
                Placeholder::Address(Role::Principal),
                Placeholder::FolderId(Role::Principal, FolderName::Inbox),
                Placeholder::Marker,
            ]
        );
        let filled = t
            .fill(|p| {
                Ok::<_, ()>(match p {
                    Placeholder::Id(_) => "a&b".into(),
                    Placeholder::ChangeKey(_) => "\"k\"".into(),
                    _ => "x".into(),
                })
            })
            .unwrap();
        assert_eq!(filled, "<a Id=\"a&amp;b\" CK=\"&quot;k&quot;\">x x x</a>");
    }

    #[test]
    fn bad_placeholders_are_named() {
        assert_eq!(Template::parse("a {{id:x"), Err(TemplateError::Unclosed));
        assert_eq!(
            Template::parse("{{folderid:boss:inbox}}"),
            Err(TemplateError::Unknown("folderid:boss:inbox".into()))
        );
        assert!(Template::parse("no placeholders").is_ok());
    }
}
