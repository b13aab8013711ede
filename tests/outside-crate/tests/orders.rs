//! An integration test of the user's crate: `crate::OrderStatus` in `quarry.toml` is the
//! library's type here too.

use quarry_outside::{OrderStatus, place};

#[quarry::test(migrations = "migrations")]
async fn an_order_moves_on(mut conn: quarry::Connection) {
    let id = place(&mut conn, OrderStatus::Pending).await.unwrap();
    quarry::query!(
        "UPDATE orders SET status = $2, history = history || status WHERE id = $1",
        id,
        OrderStatus::Shipped
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let row = quarry::query!("SELECT status, history FROM orders WHERE id = $1", id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let status: OrderStatus = row.status;
    // Array elements are nullable in PostgreSQL, whatever the column says.
    let history: Vec<Option<OrderStatus>> = row.history;
    assert_eq!(status, OrderStatus::Shipped);
    assert_eq!(history, [Some(OrderStatus::Pending)]);
}
