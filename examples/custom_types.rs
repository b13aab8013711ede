//! User-defined PostgreSQL types in Rust: an enum, a composite, arrays of both.
//!
//! ```sh
//! cargo run --example custom_types
//! ```
//!
//! `examples/schema.sql` creates
//!
//! ```sql
//! CREATE TYPE shipment_status AS ENUM ('pending', 'in_transit', 'delivered');
//! CREATE TYPE address AS (street text, city text, postcode text);
//! CREATE TABLE shipments (id bigint ..., status shipment_status, history shipment_status[],
//!                         destination address, stops address[]);
//! ```
//!
//! `#[derive(PgType)]` makes a Rust type that PostgreSQL type, both ways. For the
//! `query!` macros to use it, `quarry.toml` (next to `Cargo.toml`) maps the
//! PostgreSQL name to the Rust path:
//!
//! ```toml
//! [types]
//! "public.shipment_status" = "crate::ShipmentStatus"
//! "public.address" = "crate::Address"
//! ```
//!
//! `crate::` names the package's library in every target (its tests, examples and
//! binaries too). This example defines the types in itself, so this repository's
//! `quarry.toml` starts the paths at the module of the queries instead:
//! `"self::ShipmentStatus"`.
//!
//! Then a `shipment_status` column is a `ShipmentStatus`, an `address[]` column a
//! `Vec<Address>`, and passing a `String` where an `address` is expected does not
//! compile.
//!
//! Uses `DATABASE_URL` when it is set; otherwise starts a throwaway PostgreSQL.

use quarry::{Connection, PgType, TempServer};

/// The enum `shipment_status`: each variant is a label, `InTransit` <-> `'in_transit'`.
#[derive(Clone, Copy, Debug, PartialEq, PgType)]
#[pg(type_name = "shipment_status", rename_all = "snake_case")]
enum ShipmentStatus {
    Pending,
    InTransit,
    Delivered,
}

/// The composite type `address`: fields in the type's order.
#[derive(Clone, Debug, PartialEq, PgType)]
#[pg(type_name = "address")]
struct Address {
    street: String,
    city: String,
    postcode: String,
}

impl Address {
    fn new(street: &str, city: &str, postcode: &str) -> Address {
        Address {
            street: street.into(),
            city: city.into(),
            postcode: postcode.into(),
        }
    }
}

#[tokio::main]
async fn main() -> quarry::Result<()> {
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };
    let mut conn = Connection::connect(&url).await?;
    conn.batch_execute(include_str!("schema.sql")).await?;

    // Optional, at start-up: compare the Rust types with the database's catalog
    // (names, field order and types, enum labels). A mismatch lists every difference.
    conn.check_type::<ShipmentStatus>().await?;
    conn.check_type::<Address>().await?;
    println!("the Rust types match the database's");

    // A composite and an array of composites as parameters.
    let destination = Address::new("1 Harbour Road", "Lisbon", "1100-001");
    let stops = vec![
        Address::new("Depot 4", "Madrid", "28001"),
        Address::new("Depot 9", "Porto", "4000-001"),
    ];
    let id = quarry::query_scalar!(
        "INSERT INTO shipments (destination, stops) VALUES ($1, $2) RETURNING id",
        &destination,
        &stops
    )
    .fetch_one(&mut conn)
    .await?;
    println!("shipment {id} created");

    // An enum as a parameter, appended to an array of enums.
    for status in [ShipmentStatus::InTransit, ShipmentStatus::Delivered] {
        quarry::query!(
            "UPDATE shipments SET status = $1, history = array_append(history, $1) WHERE id = $2",
            status,
            id
        )
        .execute(&mut conn)
        .await?;
        println!("shipment {id} is now {status:?}");
    }

    // Columns of user types come back as the Rust types: no strings to parse.
    let row = quarry::query!(
        "SELECT status, history, destination, stops FROM shipments WHERE id = $1",
        id
    )
    .fetch_one(&mut conn)
    .await?;
    let status: ShipmentStatus = row.status;
    let history: Vec<ShipmentStatus> = row.history;
    let destination_back: Address = row.destination;
    let stops_back: Vec<Address> = row.stops;
    println!("status {status:?}, history {history:?}");
    println!(
        "to {}, {} via {}",
        destination_back.street,
        destination_back.city,
        stops_back
            .iter()
            .map(|a| a.city.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // An array of enums as a parameter: `= ANY($1)` matches any of them.
    let open = quarry::query_scalar!(
        "SELECT count(*) FROM shipments WHERE id = $1 AND status = ANY($2)",
        id,
        &vec![ShipmentStatus::Pending, ShipmentStatus::InTransit]
    )
    .fetch_one(&mut conn)
    .await?;
    println!("open shipments among these: {open}");

    assert_eq!(status, ShipmentStatus::Delivered);
    assert_eq!(
        history,
        [
            ShipmentStatus::Pending,
            ShipmentStatus::InTransit,
            ShipmentStatus::Delivered
        ]
    );
    assert_eq!((destination_back, stops_back), (destination, stops));
    assert_eq!(open, 0);
    conn.close().await?;
    Ok(())
}
