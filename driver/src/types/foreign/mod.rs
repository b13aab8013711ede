//! Types of other crates that users keep in their structs, each behind the optional
//! feature named like the crate, each converted through Quarry's own type for the same
//! column (so the wire format is written once):
//!
//! | feature | Rust type | PostgreSQL | through |
//! |---|---|---|---|
//! | `ipnetwork` | `ipnetwork::IpNetwork` | `inet` (read: `inet`, `cidr`) | [`IpNetwork`](super::IpNetwork) |
//! | `ipnet` | `ipnet::IpNet` | `inet` (read: `inet`, `cidr`) | [`IpNetwork`](super::IpNetwork) |
//! | `mac_address` | `mac_address::MacAddress` | `macaddr` | [`MacAddr`](super::MacAddr) |
//! | `bit-vec` | `bit_vec::BitVec` | `varbit` (read: `bit(n)`, `varbit`) | [`BitString`](super::BitString) |
//! | `geo-types` | `Point<f64>`, `Rect<f64>`, `LineString<f64>`, `Polygon<f64>` | `point`, `box`, `path` (closed: the first point repeated at the end), `polygon` (no holes) | [`Point`](super::Point), [`Rect`](super::Rect), [`Path`](super::Path), [`Polygon`](super::Polygon) |
//!
//! Each conversion is checked both ways: what the other type cannot hold is a
//! [`ValueError`](super::ValueError), surfacing as a decode or encode error.

#[cfg(feature = "bit-vec")]
mod with_bit_vec;
#[cfg(feature = "geo-types")]
mod with_geo_types;
#[cfg(feature = "ipnet")]
mod with_ipnet;
#[cfg(feature = "ipnetwork")]
mod with_ipnetwork;
#[cfg(feature = "mac_address")]
mod with_mac_address;

/// Implements `Type`, `Encode` and `Decode` for a type of another crate through one of
/// ours: `TryFrom<&Foreign> for Own` to send, `TryFrom<Own> for Foreign` to read, both
/// with [`ValueError`](super::ValueError). The parameter type is the converted value's
/// (an [`IpNetwork`](super::IpNetwork) says whether it is `inet` or `cidr`).
#[allow(unused_macros)]
macro_rules! via_own_type {
    ($foreign:ty, $own:ty) => {
        impl $crate::types::Type for $foreign {
            fn type_ref() -> $crate::types::TypeRef {
                <$own as $crate::types::Type>::type_ref()
            }
            fn compatible(ty: &$crate::types::TypeInfo) -> bool {
                <$own as $crate::types::Type>::compatible(ty)
            }
        }

        impl $crate::types::Encode for $foreign {
            fn encode(
                &self,
                buf: &mut $crate::types::EncodeBuf,
            ) -> Result<$crate::types::IsNull, $crate::types::EncodeError> {
                $crate::types::Encode::encode(&<$own>::try_from(self)?, buf)
            }
            fn param_type(&self) -> $crate::types::TypeRef {
                <$own>::try_from(self).map_or_else(
                    |_| <$own as $crate::types::Type>::type_ref(),
                    |own| $crate::types::Encode::param_type(&own),
                )
            }
        }

        impl<'r> $crate::types::Decode<'r> for $foreign {
            fn decode(
                value: $crate::types::ValueRef<'r>,
            ) -> Result<Self, $crate::types::DecodeError> {
                let own = <$own as $crate::types::Decode<'r>>::decode(value)?;
                Ok(<$foreign>::try_from(own)?)
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use via_own_type;
