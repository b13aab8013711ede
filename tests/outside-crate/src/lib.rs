//! A user's library: a PostgreSQL enum as a Rust type, and queries that use it.

/// `order_status` in PostgreSQL (`quarry.toml` maps it here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, quarry::PgType)]
#[pg(type_name = "order_status", rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Shipped,
    Delivered,
}

/// Inserts an order and returns its id.
pub async fn place(conn: &mut quarry::Connection, status: OrderStatus) -> quarry::Result<i64> {
    quarry::query_scalar!(
        "INSERT INTO orders (status) VALUES ($1) RETURNING id",
        status
    )
    .fetch_one(conn)
    .await
}
