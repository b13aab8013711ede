//! User-defined types as `#[derive(PgType)]` will write them: an enum and a
//! composite known by name (`TypeRef::Named`), encoded with
//! `CompositeEncoder` and decoded with `CompositeDecoder`, with a field of an
//! extension type (`hstore`) and a field of the enum. The connection looks up
//! their OIDs and fills in the placeholders the encoders leave, also inside
//! arrays of them.

use std::collections::BTreeMap;

use quarry::types::{
    CompositeDecoder, CompositeEncoder, Decode, DecodeError, Encode, EncodeBuf, EncodeError,
    IsNull, Type, TypeRef, ValueRef,
};

use crate::support::{Failures, connect, round_trip};

#[derive(Clone, Debug, PartialEq)]
struct Feeling(String);

impl Type for Feeling {
    fn type_ref() -> TypeRef {
        TypeRef::Named("typetests_feeling")
    }
}

impl Encode for Feeling {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        // enum_recv reads the label's text.
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl<'r> Decode<'r> for Feeling {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        <&str>::decode(value).map(|s| Feeling(s.to_owned()))
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Item {
    id: Option<i64>,
    tags: Option<BTreeMap<String, Option<String>>>,
    feeling: Option<Feeling>,
    label: String,
}

impl Type for Item {
    fn type_ref() -> TypeRef {
        TypeRef::Named("typetests_item")
    }
}

impl Encode for Item {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        let mut record = CompositeEncoder::new(buf);
        record.field(&self.id)?;
        record.field(&self.tags)?;
        record.field(&self.feeling)?;
        record.field(&self.label)?;
        record.finish()
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl<'r> Decode<'r> for Item {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let mut record = CompositeDecoder::new(value)?;
        record.expect_fields(4, "Item")?;
        let item = Item {
            id: record.read()?,
            tags: record.read()?,
            feeling: record.read()?,
            label: record.read()?,
        };
        record.finish()?;
        Ok(item)
    }
}

#[tokio::test]
async fn enum_and_composite_known_by_name() {
    let mut conn = connect().await;
    conn.batch_execute(
        "DROP TYPE IF EXISTS typetests_item; DROP TYPE IF EXISTS typetests_feeling; \
         CREATE TYPE typetests_feeling AS ENUM ('sad', 'happy'); \
         CREATE TYPE typetests_item AS \
             (id int8, tags hstore, feeling typetests_feeling, label text)",
    )
    .await
    .unwrap();
    let mut f = Failures::new("user types");
    for label in ["sad", "happy"] {
        f.push(
            round_trip(
                &mut conn,
                "typetests_feeling",
                &Feeling(label.to_owned()),
                label,
            )
            .await,
        );
    }
    let tags: BTreeMap<String, Option<String>> = [("a".to_owned(), Some("1".to_owned()))].into();
    for (v, text) in [
        (
            Item {
                id: Some(7),
                tags: Some(tags),
                feeling: Some(Feeling("happy".to_owned())),
                label: "x y".to_owned(),
            },
            "(7,\"\"\"a\"\"=>\"\"1\"\"\",happy,\"x y\")",
        ),
        (
            Item {
                id: None,
                tags: None,
                feeling: None,
                label: String::new(),
            },
            "(,,,\"\")",
        ),
        (
            Item {
                id: Some(i64::MIN),
                tags: Some(BTreeMap::new()),
                feeling: Some(Feeling("sad".to_owned())),
                label: "a \"b\" \\ é (c),".to_owned(),
            },
            "(-9223372036854775808,\"\",sad,\"a \"\"b\"\" \\\\ é (c),\")",
        ),
    ] {
        f.push(round_trip(&mut conn, "typetests_item", &v, text).await);
    }
    f.finish();
}
