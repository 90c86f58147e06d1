//! The closed set of operations the harness speaks, as one type the envelope can carry.

use super::MESSAGES_NS;
use super::create_item::CreateItem;
use super::delete_item::DeleteItem;
use super::find_item::FindItem;
use super::get_folder::GetFolder;
use super::get_item::GetItem;
use super::send_item::SendItem;
use super::update_item::UpdateItem;
use super::xml::{Element, FromXml, ToXml, XmlError, XmlWriter};

/// Declares `Request` over the operation types, with conversions and dispatch by element name.
macro_rules! requests {
    ($($op:ident),+ $(,)?) => {
        /// One EWS operation request, the element inside the SOAP Body.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Request {
            $(
                #[doc = concat!("`m:", stringify!($op), "`.")]
                $op($op),
            )+
        }

        impl Request {
            /// Every operation name this model speaks.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($op)),+];

            /// The operation's name: the request element's local name.
            pub const fn name(&self) -> &'static str {
                match self {
                    $(Request::$op(_) => stringify!($op),)+
                }
            }
        }

        $(
            impl From<$op> for Request {
                fn from(op: $op) -> Self {
                    Request::$op(op)
                }
            }
        )+

        impl ToXml for Request {
            fn to_xml(&self, w: &mut XmlWriter) {
                match self {
                    $(Request::$op(op) => op.to_xml(w),)+
                }
            }
        }

        impl FromXml for Request {
            fn from_xml(e: &Element) -> Result<Self, XmlError> {
                if e.namespace.as_deref() != Some(MESSAGES_NS) {
                    return Err(e.error(format!(
                        "`{}` is not in the EWS messages namespace ({MESSAGES_NS})",
                        e.name
                    )));
                }
                match e.name.as_str() {
                    $(stringify!($op) => Ok(Request::$op($op::from_xml(e)?)),)+
                    other => Err(e.error(format!("operation `{other}` is not supported"))),
                }
            }
        }
    };
}

requests!(
    SendItem, CreateItem, GetItem, FindItem, DeleteItem, GetFolder, UpdateItem
);

/// Implements `ToXml` and `FromXml` for an operation that reads by id, GetItem and GetFolder:
/// `m:{op}` holding the shape to return and the list of ids to read, in that order.
macro_rules! shape_and_ids {
    ($op:ident { $shape:ident: $shape_name:literal, $ids:ident: $ids_name:literal $(,)? }) => {
        impl $crate::ews::xml::ToXml for $op {
            fn to_xml(&self, w: &mut $crate::ews::xml::XmlWriter) {
                let op = concat!("m:", stringify!($op));
                w.start(op, &[]);
                self.$shape.write_as(w, concat!("m:", $shape_name));
                w.list(concat!("m:", $ids_name), &self.$ids);
                w.end(op);
            }
        }

        impl $crate::ews::xml::FromXml for $op {
            fn from_xml(e: &$crate::ews::xml::Element) -> Result<Self, $crate::ews::xml::XmlError> {
                use $crate::ews::MESSAGES_NS;
                Ok(Self {
                    $shape: $crate::ews::types::Shape::read(
                        e.required_child(MESSAGES_NS, $shape_name)?,
                    )?,
                    $ids: e.required_child(MESSAGES_NS, $ids_name)?.read_children()?,
                })
            }
        }
    };
}
pub(crate) use shape_and_ids;
