//! [`AclItem`] <- `aclitem` (an entry of `relacl`, `datacl`, ...), text format only.
//!
//! The server has no binary form of `aclitem` (no send or receive function): a column of
//! it (or of `aclitem[]`) cannot be fetched through the extended protocol, which asks for
//! binary results, and a value cannot be bound. Read it through `simple_query`, or cast it
//! in SQL (`relacl::text[]`) and read text; send one as text (`$1::text::aclitem`).

use std::fmt;

use super::{Decode, DecodeError, Format, Oid, Type, TypeRef, ValueRef};

/// One access privilege entry as PostgreSQL prints it: `grantee=privileges/grantor`
/// (`alice=arw/postgres`; an empty grantee is `PUBLIC`). Read from text only (see the
/// module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AclItem(pub String);

impl fmt::Display for AclItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Type for AclItem {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::ACLITEM)
    }
}

impl<'r> Decode<'r> for AclItem {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        match value.format() {
            Format::Text => std::str::from_utf8(bytes)
                .map(|s| AclItem(s.to_owned()))
                .map_err(|_| DecodeError::new("invalid aclitem value: not UTF-8")),
            Format::Binary => Err(DecodeError::new(
                "aclitem has no binary format on the server; read it with simple_query, \
                 or as text (`::text`, `::text[]`)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::read::testing::{bin, text};

    #[test]
    fn text_only() {
        assert_eq!(
            text::<AclItem>(Oid::ACLITEM, "alice=arw/postgres"),
            Ok(AclItem("alice=arw/postgres".to_owned()))
        );
        assert!(bin::<AclItem>(Oid::ACLITEM, b"x").is_err());
    }
}
