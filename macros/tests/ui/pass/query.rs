// Every feature of the query macros, offline (tests/.pgprepare), type-checked.
// Nothing runs: main only names the functions.

use quarry::Connection;
use quarry::types::{DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Type, TypeRef, ValueRef};

/// A hand-written user enum (what `#[derive(PgType)]` generates), mapped to
/// `public.mood` in quarry.toml.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mood {
    Sad,
    Ok,
    Happy,
}

impl Type for Mood {
    fn type_ref() -> TypeRef {
        TypeRef::Named("mood")
    }
}

impl Encode for Mood {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(match self {
            Mood::Sad => b"sad",
            Mood::Ok => b"ok",
            Mood::Happy => b"happy",
        });
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl<'r> quarry::types::Decode<'r> for Mood {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        match value.non_null::<Mood>()? {
            b"sad" => Ok(Mood::Sad),
            b"ok" => Ok(Mood::Ok),
            b"happy" => Ok(Mood::Happy),
            _ => Err(DecodeError::new("not a mood")),
        }
    }
}

/// A record with a hand-written `FromRecord`, plus the `RecordField` impls that
/// `#[derive(FromRecord)]` emits (so `query_as!` checks its fields at compile time).
#[derive(Debug)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
}

impl<'r> quarry::FromRecord<'r> for User {
    fn from_record(row: &'r quarry::Row) -> quarry::Result<Self> {
        Ok(User {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
        })
    }
}

impl quarry::__private::RecordField<{ quarry::__private::column_key("id") }> for User {
    type Type = i64;
}
impl quarry::__private::RecordField<{ quarry::__private::column_key("name") }> for User {
    type Type = String;
}
impl quarry::__private::RecordField<{ quarry::__private::column_key("email") }> for User {
    type Type = Option<String>;
}

/// No `RecordField` impls: checked when rows are read.
pub struct Plain {
    pub id: i64,
}

impl<'r> quarry::FromRecord<'r> for Plain {
    fn from_record(row: &'r quarry::Row) -> quarry::Result<Self> {
        Ok(Plain { id: row.try_get("id")? })
    }
}

async fn records(conn: &mut Connection, id: i64, name: &str) -> quarry::Result<()> {
    // Typed fields, nullability from the schema.
    let row = quarry::query!("SELECT id, name, email FROM users WHERE id = $1", id)
        .fetch_one(&mut *conn)
        .await?;
    println!("{row:?}");
    let _: (i64, String, Option<String>) = (row.id, row.name, row.email);

    // T, &T, Option<T>, Option<&T> arguments; literals joined with +.
    let rows = quarry::query!(
        "SELECT u.name, o.total, o.note "
            + "FROM users u LEFT JOIN orders o ON o.user_id = u.id "
            // (a strict condition on `o` would make the join an inner one)
            + "WHERE u.id = $1 AND u.name = $2 AND (o.note = $3 OR o.note IS NULL) "
            + "AND (u.age = $4 OR u.age IS NULL)",
        &id,
        name,
        Some("n"),
        None::<i32>
    )
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        let _: (String, Option<i32>, Option<String>) = (r.name, r.total, r.note);
    }

    // Named parameters, used twice.
    let r = quarry::query!(
        "SELECT id FROM users WHERE id = :id OR age = :age OR id = :id + 1",
        id = id,
        age = 3
    )
    .fetch_optional(&mut *conn)
    .await?;
    let _: Option<i64> = r.map(|r| r.id);

    // Overrides in aliases: not null, nullable, a type.
    let r = quarry::query!(
        r#"SELECT email AS "email!", name AS "name?", age AS "age: i32", id AS "id!: i64" FROM users"#
    )
    .fetch_one(&mut *conn)
    .await?;
    let _: (String, Option<String>, Option<i32>, i64) = (r.email, r.name, r.age, r.id);

    // Expressions the plan proves non-null, and ones it cannot.
    let r = quarry::query!(
        "SELECT count(*) AS n, max(id) AS top, COALESCE(max(email), '') AS e FROM users"
    )
    .fetch_one(&mut *conn)
    .await?;
    let _: (i64, Option<i64>, String) = (r.n, r.top, r.e);

    // RETURNING; a statement without columns.
    let r = quarry::query!("INSERT INTO users (name) VALUES ($1) RETURNING id, email", name)
        .fetch_one(&mut *conn)
        .await?;
    let _: (i64, Option<String>) = (r.id, r.email);
    let n: u64 = quarry::query!("DELETE FROM tags WHERE id = $1", 5)
        .execute(&mut *conn)
        .await?;
    let _ = n;
    Ok(())
}

async fn scalars_and_types(conn: &mut Connection, id: i64) -> quarry::Result<()> {
    let n: i64 = quarry::query_scalar!("SELECT count(*) FROM users")
        .fetch_one(&mut *conn)
        .await?;
    let e: Option<String> = quarry::query_scalar!("SELECT email FROM users WHERE id = $1", id)
        .fetch_one(&mut *conn)
        .await?;
    let _ = (n, e);

    // A user enum through quarry.toml, as a column and as a parameter.
    let r = quarry::query!("SELECT current, rank FROM users WHERE current = $1", Mood::Happy)
        .fetch_one(&mut *conn)
        .await?;
    let _: (Option<Mood>, Option<i32>) = (r.current, r.rank);
    // `value as Type` and `value as _`.
    let m = Mood::Ok;
    let _ = quarry::query!("SELECT id FROM users WHERE current = $1 AND age = $2", &m as Mood, 4i32 as _)
        .fetch_all(&mut *conn)
        .await?;

    // Other built-in types.
    let r = quarry::query!(
        "SELECT settings, avatar, score, active, balance, o.ref FROM users u JOIN orders o ON o.user_id = u.id"
    )
    .fetch_one(&mut *conn)
    .await?;
    let _: serde_json::Value = r.settings;
    let _: Option<Vec<u8>> = r.avatar;
    let _: (f64, bool) = (r.score, r.active);
    let _: Option<quarry::types::Numeric> = r.balance;
    let _: Option<quarry::__private::uuid::Uuid> = r.r#ref;
    Ok(())
}

/// `query_as!` reads through `FromRecord`, so the derive's attributes apply.
#[derive(quarry::FromRecord, Debug)]
pub struct Key {
    pub id: i64,
}

#[derive(quarry::FromRecord, Debug)]
pub struct Account {
    #[quarry(rename = "user_name")]
    pub name: String,
    #[quarry(try_from = "i64")]
    pub small_id: u32,
    #[quarry(flatten)]
    pub key: Key,
    #[quarry(default)]
    pub note: Option<String>,
}

async fn derived(conn: &mut Connection) -> quarry::Result<Vec<Account>> {
    quarry::query_as!(Account, "SELECT id, name AS user_name, id AS small_id FROM users")
        .fetch_all(conn)
        .await
}

async fn query_as_and_files(conn: &mut Connection, id: i64) -> quarry::Result<()> {
    let users: Vec<User> = quarry::query_as!(User, "SELECT id, name, email FROM users")
        .fetch_all(&mut *conn)
        .await?;
    let plain: Vec<Plain> = quarry::query_as!(Plain, "SELECT id FROM users WHERE id = $1", id)
        .fetch_all(&mut *conn)
        .await?;
    let pairs: Vec<(i64, String)> = quarry::query_as!((i64, String), "SELECT id, name FROM users")
        .fetch_all(&mut *conn)
        .await?;
    let _ = (users, plain, pairs);

    let row = quarry::query_file!("queries/find_user.sql", id)
        .fetch_one(&mut *conn)
        .await?;
    let _: (i64, String, Option<String>) = (row.id, row.name, row.email);
    let all: Vec<(i64, String)> = quarry::query_file_as!((i64, String), "queries/all_users.sql")
        .fetch_all(&mut *conn)
        .await?;
    let _ = all;

    // Not described at all: runtime checks only.
    let rows: Vec<quarry::Row> = quarry::query_unchecked!("SELECT whatever FROM anywhere WHERE x = :x", x = 1)
        .fetch_all(&mut *conn)
        .await?;
    let plain: Vec<Plain> = quarry::query_as_unchecked!(Plain, "SELECT id FROM users")
        .fetch_all(&mut *conn)
        .await?;
    let _ = (rows, plain);
    Ok(())
}

/// `query_as!` with `Self` and with a generic parameter of the enclosing
/// function: the columns are checked where the type is known (a `const` item
/// cannot name `Self` or `T`).
#[derive(quarry::FromRecord, Debug)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

impl Named {
    async fn all(conn: &mut Connection) -> quarry::Result<Vec<Self>> {
        quarry::query_as!(Self, "SELECT id, name FROM users")
            .fetch_all(conn)
            .await
    }
}

async fn generic<T>(conn: &mut Connection) -> quarry::Result<Vec<T>>
where
    T: for<'r> quarry::FromRecord<'r> + Send + 'static,
{
    quarry::query_as!(T, "SELECT id, name FROM users")
        .fetch_all(conn)
        .await
}

/// A hand-written `FromRecord` is not checked at compile time (only when rows
/// are read), whatever columns the query returns.
pub struct Hand(i64);

impl<'r> quarry::FromRecord<'r> for Hand {
    fn from_record(row: &'r quarry::Row) -> quarry::Result<Self> {
        Ok(Hand(row.try_get("anything")?))
    }
}

async fn hand(conn: &mut Connection) -> quarry::Result<Vec<Hand>> {
    quarry::query_as!(Hand, "SELECT id, name FROM users")
        .fetch_all(conn)
        .await
}

/// A domain mapped to `String` in quarry.toml takes `&str` and `String`, and
/// reads as `String`; `[!]` asserts an array's elements are never NULL.
async fn domains_and_elements(conn: &mut Connection, email: &str) -> quarry::Result<()> {
    let r = quarry::query!("SELECT $1::email_text AS email", email)
        .fetch_one(&mut *conn)
        .await?;
    let _: Option<String> = r.email;
    let owned = email.to_owned();
    let _ = quarry::query!("SELECT $1::email_text AS email", owned)
        .fetch_one(&mut *conn)
        .await?;
    let r = quarry::query!(r#"SELECT ARRAY[name] AS "names![!]" FROM users"#)
        .fetch_one(&mut *conn)
        .await?;
    let _: Vec<String> = r.names;
    Ok(())
}

fn main() {
    let _ = domains_and_elements;
    let _ = Named::all;
    let _ = generic::<Named>;
    let _ = hand;
    let _ = records;
    let _ = scalars_and_types;
    let _ = query_as_and_files;
    let _ = derived;
}
