//! Values bound to a query's parameters, encoded as they are added.
//!
//! Below the connection: it reads them when it writes a Bind, and looks up the user
//! types they name (`connection/type_registry.rs`).

use std::fmt;

use crate::failure::{Error, Result};
use crate::types::{Encode, EncodeBuf, EncodeError, IsNull, Oid, TypeRef};

/// Values bound to a query's parameters, already encoded.
#[derive(Default)]
pub struct Arguments {
    /// Values in Bind wire form: i32 length (-1 = NULL) then bytes.
    values: EncodeBuf,
    types: Vec<TypeRef>,
    /// The first value that could not be encoded; later values are not encoded.
    error: Option<Unencodable>,
}

/// Why a bound value could not be encoded. [`Error`] is not `Clone`, so
/// [`Arguments::check`] makes a new one from this each time it is asked.
struct Unencodable {
    /// Which parameter failed, in our words.
    message: String,
    /// The encoder's own error: the cause, kept as the `source()` of the [`Error`].
    cause: Option<EncodeError>,
}

impl fmt::Debug for Arguments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never show bound values: they may be secrets.
        f.debug_struct("Arguments")
            .field("count", &self.types.len())
            .field("types", &self.types)
            .finish()
    }
}

impl Arguments {
    /// No values.
    pub fn new() -> Arguments {
        Arguments::default()
    }

    /// Adds a value for the next parameter.
    pub fn add<T: Encode>(&mut self, value: T) {
        let n = self.types.len() + 1;
        self.types.push(value.param_type());
        if self.error.is_some() {
            return;
        }
        let at = self.values.len();
        self.values.reserve(4 + value.size_hint());
        self.values.extend_from_slice(&[0; 4]);
        let len = match value.encode(&mut self.values) {
            Ok(IsNull::No) => match i32::try_from(self.values.len() - at - 4) {
                Ok(len) => len,
                Err(_) => {
                    self.values.truncate(at);
                    self.error = Some(Unencodable {
                        message: format!(
                            "parameter ${n} is larger than the 1 GiB PostgreSQL accepts"
                        ),
                        cause: None,
                    });
                    return;
                }
            },
            Ok(IsNull::Yes) => {
                self.values.truncate(at + 4);
                -1
            }
            Err(e) => {
                self.values.truncate(at);
                self.error = Some(Unencodable {
                    message: format!("the value of parameter ${n} cannot be sent"),
                    cause: Some(e),
                });
                return;
            }
        };
        self.values[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Makes the query fail with `message` when it runs (for a `QueryBuilder` piece that
    /// cannot be written as SQL); the first such failure wins.
    pub(crate) fn fail(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(Unencodable {
                message,
                cause: None,
            });
        }
    }

    /// Makes room for `params` more values taking `bytes` encoded bytes in all.
    pub(crate) fn reserve(&mut self, params: usize, bytes: usize) {
        self.types.reserve(params);
        self.values.reserve(bytes);
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Fails with the error of a value that could not be encoded, if one could not.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.error {
            None => Ok(()),
            Some(Unencodable { message, cause }) => {
                let e = Error::encode(message.clone());
                Err(match cause {
                    Some(cause) => e.with_source(cause.clone()),
                    None => e,
                })
            }
        }
    }

    pub(crate) fn type_refs(&self) -> &[TypeRef] {
        &self.types
    }

    pub(crate) fn encoded(&self) -> &EncodeBuf {
        &self.values
    }

    /// The parameter OIDs for Parse. User types must have been resolved (see `resolve`).
    pub(crate) fn oids(&self, resolved: &[Oid]) -> Vec<Oid> {
        self.oids_iter(resolved).collect()
    }

    /// [`Arguments::oids`] without collecting them.
    pub(crate) fn oids_iter<'a>(&'a self, resolved: &'a [Oid]) -> impl Iterator<Item = Oid> + 'a {
        let mut named = resolved.iter();
        self.types.iter().map(move |t| match t.oid() {
            Some(oid) => oid,
            None => named.next().copied().unwrap_or(Oid::UNSPECIFIED),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encode_error_keeps_the_encoders_error_as_its_source() {
        let mut args = Arguments::new();
        args.add(1i32);
        args.add("a\0b");
        args.add(2i32);
        // Asked twice (a query may be checked more than once): the same error each time.
        for _ in 0..2 {
            let e = args.check().unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Encode);
            assert_eq!(
                e.to_string(),
                "encode error: the value of parameter $2 cannot be sent"
            );
            let source = std::error::Error::source(&e).expect("the encoder's error");
            let cause = source
                .downcast_ref::<EncodeError>()
                .expect("an EncodeError");
            assert!(cause.message().contains("NUL"), "{cause}");
            assert!(!e.to_string().contains("NUL"), "{e}");
        }
    }
}
