//! FindItem: list the items of a folder, possibly in another mailbox, optionally restricted; the
//! harness finds sent copies and reports with it by the run marker in their subject.
//!
//! Reference: <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem>

use std::borrow::Cow;

use super::property::PropertyPath;
use super::types::{FieldUri, Shape, TargetFolderId, wire_enum};
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};
use super::{MESSAGES_NS, TYPES_NS};

wire_enum! {
    /// `ItemQueryTraversalType`.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem>
    ItemTraversal {
        Shallow,
        SoftDeleted,
        Associated,
    }
}

wire_enum! {
    /// `ContainmentModeType`: which part of the value a `Contains` matches.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/contains>
    ContainmentMode {
        FullString,
        Prefixed,
        Substring,
        PrefixOnWords,
        ExactPhrase,
    }
}

wire_enum! {
    /// `ContainmentComparisonType`: how a `Contains` compares.
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/contains>
    ContainmentComparison {
        Exact,
        IgnoreCase,
        IgnoreNonSpacingCharacters,
        Loose,
        IgnoreCaseAndNonSpacingCharacters,
        LooseAndIgnoreCase,
        LooseAndIgnoreNonSpace,
        LooseAndIgnoreCaseAndIgnoreNonSpace,
    }
}

/// A search expression inside `m:Restriction`.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/restriction>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Restriction {
    /// `t:IsEqualTo`: the property equals the constant.
    IsEqualTo {
        /// The property.
        path: PropertyPath,
        /// `t:FieldURIOrConstant/t:Constant/@Value`.
        value: String,
    },
    /// `t:Contains`: the property contains the constant.
    Contains {
        /// The property.
        path: PropertyPath,
        /// `t:Constant/@Value`.
        value: String,
        /// `ContainmentMode`.
        mode: ContainmentMode,
        /// `ContainmentComparison`.
        comparison: ContainmentComparison,
    },
    /// `t:And`.
    And(Vec<Restriction>),
    /// `t:Or`.
    Or(Vec<Restriction>),
    /// `t:Not`.
    Not(Box<Restriction>),
}

impl Restriction {
    /// Subject contains `value`, ignoring case: how the harness finds its run marker.
    pub fn subject_contains(value: impl Into<String>) -> Self {
        Self::contains(FieldUri::ItemSubject, value)
    }

    /// Body contains `value`, ignoring case: how reports under a subject of their own are found.
    pub fn body_contains(value: impl Into<String>) -> Self {
        Self::contains(FieldUri::ItemBody, value)
    }

    /// `field_uri` contains `value`, ignoring case.
    pub fn contains(field_uri: FieldUri, value: impl Into<String>) -> Self {
        Restriction::Contains {
            path: field_uri.into(),
            value: value.into(),
            mode: ContainmentMode::Substring,
            comparison: ContainmentComparison::IgnoreCase,
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        match self {
            Restriction::IsEqualTo { path, value } => {
                w.start("t:IsEqualTo", &[]);
                path.write(w);
                w.start("t:FieldURIOrConstant", &[]);
                w.empty("t:Constant", &[("Value", value)]);
                w.end("t:FieldURIOrConstant");
                w.end("t:IsEqualTo");
            }
            Restriction::Contains {
                path,
                value,
                mode,
                comparison,
            } => {
                w.start(
                    "t:Contains",
                    &[
                        ("ContainmentMode", mode.as_str()),
                        ("ContainmentComparison", comparison.as_str()),
                    ],
                );
                path.write(w);
                w.empty("t:Constant", &[("Value", value)]);
                w.end("t:Contains");
            }
            Restriction::And(list) | Restriction::Or(list) => {
                let name = if matches!(self, Restriction::And(_)) {
                    "t:And"
                } else {
                    "t:Or"
                };
                w.start(name, &[]);
                for r in list {
                    r.write(w);
                }
                w.end(name);
            }
            Restriction::Not(inner) => {
                w.start("t:Not", &[]);
                inner.write(w);
                w.end("t:Not");
            }
        }
    }

    fn read(e: &Element) -> Result<Self, XmlError> {
        if e.namespace.as_deref() != Some(TYPES_NS) {
            return Err(e.error("expected a search expression in the types namespace"));
        }
        let constant = |c: &Element| -> Result<String, XmlError> {
            Ok(c.required_child(TYPES_NS, "Constant")?
                .required_attr("Value")?
                .to_owned())
        };
        match e.name.as_str() {
            "IsEqualTo" => Ok(Restriction::IsEqualTo {
                path: PropertyPath::read_child(e)?,
                value: constant(e.required_child(TYPES_NS, "FieldURIOrConstant")?)?,
            }),
            "Contains" => Ok(Restriction::Contains {
                path: PropertyPath::read_child(e)?,
                value: constant(e)?,
                mode: e
                    .parse_attr("ContainmentMode")?
                    .unwrap_or(ContainmentMode::FullString),
                comparison: e
                    .parse_attr("ContainmentComparison")?
                    .unwrap_or(ContainmentComparison::Exact),
            }),
            "And" => Ok(Restriction::And(
                e.elements().map(Self::read).collect::<Result<_, _>>()?,
            )),
            "Or" => Ok(Restriction::Or(
                e.elements().map(Self::read).collect::<Result<_, _>>()?,
            )),
            "Not" => {
                let inner = e
                    .elements()
                    .next()
                    .ok_or_else(|| e.error("`Not` is empty"))?;
                Ok(Restriction::Not(Box::new(Self::read(inner)?)))
            }
            other => Err(e.error(format!("search expression `{other}` is not supported"))),
        }
    }

    /// Whether an item with these property values matches.
    pub fn matches<'v>(&self, value_of: &dyn Fn(&PropertyPath) -> Option<Cow<'v, str>>) -> bool {
        match self {
            Restriction::IsEqualTo { path, value } => {
                value_of(path).as_deref() == Some(value.as_str())
            }
            Restriction::Contains {
                path,
                value,
                mode,
                comparison,
            } => value_of(path).is_some_and(|actual| contains(&actual, value, *mode, *comparison)),
            Restriction::And(list) => list.iter().all(|r| r.matches(value_of)),
            Restriction::Or(list) => list.iter().any(|r| r.matches(value_of)),
            Restriction::Not(inner) => !inner.matches(value_of),
        }
    }
}

/// Whether `actual` contains `value` as a `t:Contains` with this mode and comparison matches.
fn contains(
    actual: &str,
    value: &str,
    mode: ContainmentMode,
    comparison: ContainmentComparison,
) -> bool {
    let fold = !matches!(comparison, ContainmentComparison::Exact);
    // The common case (FindItem by a run marker) without allocating per item.
    if fold && mode == ContainmentMode::Substring && value.is_ascii() {
        let (h, n) = (actual.as_bytes(), value.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    let (actual, value) = if fold {
        (
            Cow::Owned(actual.to_lowercase()),
            Cow::Owned(value.to_lowercase()),
        )
    } else {
        (Cow::Borrowed(actual), Cow::Borrowed(value))
    };
    match mode {
        ContainmentMode::FullString => actual == value,
        ContainmentMode::Prefixed => actual.starts_with(&*value),
        ContainmentMode::Substring | ContainmentMode::ExactPhrase => actual.contains(&*value),
        ContainmentMode::PrefixOnWords => actual
            .split_whitespace()
            .any(|word| word.starts_with(&*value)),
    }
}

/// `m:IndexedPageItemView`: one page of the results.
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/indexedpageitemview>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexedPageItemView {
    /// `MaxEntriesReturned`.
    pub max_entries_returned: Option<u32>,
    /// `Offset` from the beginning.
    pub offset: u32,
}

/// `m:FindItem` (`FindItemType`).
/// <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FindItem {
    /// `Traversal`.
    pub traversal: ItemTraversal,
    /// `m:ItemShape`.
    pub item_shape: Shape,
    /// `m:IndexedPageItemView`.
    pub indexed_page_item_view: Option<IndexedPageItemView>,
    /// `m:Restriction`.
    pub restriction: Option<Restriction>,
    /// `m:ParentFolderIds`: the folders to search, possibly in other mailboxes.
    pub parent_folder_ids: Vec<TargetFolderId>,
}

impl FindItem {
    /// A shallow search of one folder returning id, change key, subject, item class and, for
    /// messages, the Message-ID.
    pub fn shallow(folder: impl Into<TargetFolderId>) -> Self {
        Self {
            traversal: ItemTraversal::Shallow,
            item_shape: Shape::id_and(&[
                FieldUri::ItemSubject,
                FieldUri::ItemClass,
                FieldUri::MessageInternetMessageId,
            ]),
            indexed_page_item_view: None,
            restriction: None,
            parent_folder_ids: vec![folder.into()],
        }
    }

    /// The same search, restricted.
    pub fn restriction(mut self, restriction: Restriction) -> Self {
        self.restriction = Some(restriction);
        self
    }
}

impl ToXml for FindItem {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.start("m:FindItem", &[("Traversal", self.traversal.as_str())]);
        self.item_shape.write_as(w, "m:ItemShape");
        if let Some(view) = &self.indexed_page_item_view {
            let max = view.max_entries_returned.map(|m| m.to_string());
            let offset = view.offset.to_string();
            let mut attrs = Vec::new();
            if let Some(m) = &max {
                attrs.push(("MaxEntriesReturned", m.as_str()));
            }
            attrs.push(("Offset", &offset));
            attrs.push(("BasePoint", "Beginning"));
            w.empty("m:IndexedPageItemView", &attrs);
        }
        if let Some(r) = &self.restriction {
            w.start("m:Restriction", &[]);
            r.write(w);
            w.end("m:Restriction");
        }
        w.list("m:ParentFolderIds", &self.parent_folder_ids);
        w.end("m:FindItem");
    }
}

impl FromXml for FindItem {
    fn from_xml(e: &Element) -> Result<Self, XmlError> {
        let indexed_page_item_view = match e.child(MESSAGES_NS, "IndexedPageItemView") {
            None => None,
            Some(v) => Some(IndexedPageItemView {
                max_entries_returned: v.parse_attr("MaxEntriesReturned")?,
                offset: v.parse_required_attr("Offset")?,
            }),
        };
        let restriction = match e.child(MESSAGES_NS, "Restriction") {
            None => None,
            Some(r) => {
                let expr = r
                    .elements()
                    .next()
                    .ok_or_else(|| r.error("`Restriction` is empty"))?;
                Some(Restriction::read(expr)?)
            }
        };
        Ok(Self {
            traversal: e.parse_required_attr("Traversal")?,
            item_shape: Shape::read(e.required_child(MESSAGES_NS, "ItemShape")?)?,
            indexed_page_item_view,
            restriction,
            parent_folder_ids: e
                .required_child(MESSAGES_NS, "ParentFolderIds")?
                .read_children()?,
        })
    }
}
