//! A small HTTP JSON service with axum and a shared connection pool.
//!
//! ```sh
//! cargo run --example web                 # serves on 127.0.0.1:3000 until Ctrl-C
//! cargo run --example web -- --self-test  # serves on a free port, calls itself, exits
//! ```
//!
//! The routes:
//!
//! ```text
//! POST /accounts            {"owner": "Ada", "balance": 100}     -> 201 the account
//! GET  /accounts/{id}                                            -> 200 the account, or 404
//! POST /accounts/search     {"owner": "a", "min_balance": 10,    -> 200 a page of accounts
//!                            "sort": "owner", "limit": 2,           and the cursor of the
//!                            "after": {"owner": "Ada", "id": 1}}    next page (all optional)
//! POST /transfers           {"from": 1, "to": 2, "amount": 30}  -> 200 both balances,
//!                                                                   409 if it would overdraw
//! ```
//!
//! The shape is that of asyncpg's aiohttp example: the `Pool` is shared by every
//! handler (it is a cheap `Arc` handle); a handler acquires a connection, runs a
//! transaction on it, and answers. A database error becomes an HTTP status.
//!
//! At start the service applies its migrations (`examples/migrations/`, embedded in the
//! binary by `quarry::migrate!`); instances starting together apply each one once. The
//! search endpoint builds its SQL with `QueryBuilder`: optional filters, a sort column
//! from a whitelist, keyset pagination.
//!
//! Uses `DATABASE_URL` when it is set; otherwise starts a throwaway PostgreSQL.

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use quarry::{FromRecord, Pool, PoolOptions, QueryBuilder, TempServer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A row of `accounts`, read by `query_as!` and sent as JSON.
#[derive(Debug, FromRecord, Serialize)]
struct Account {
    id: i64,
    owner: String,
    balance: i64,
}

#[derive(Deserialize)]
struct NewAccount {
    owner: String,
    balance: i64,
}

/// The search form: every criterion optional.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Search {
    /// A substring of the owner's name, any case.
    owner: Option<String>,
    min_balance: Option<i64>,
    max_balance: Option<i64>,
    /// Any of these ids.
    ids: Option<Vec<i64>>,
    /// `"id"` (the default) or `"owner"`.
    sort: Option<String>,
    /// Where the page starts: the `next` of the previous page.
    after: Option<Cursor>,
    /// Page size, 1 to 100 (default 20).
    limit: Option<i64>,
}

/// The last row of a page, in the sort order: `(owner, id)` or `id` alone.
#[derive(Deserialize, Serialize)]
struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    id: i64,
}

#[derive(Deserialize)]
struct Transfer {
    from: i64,
    to: i64,
    amount: i64,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let self_test = std::env::args().any(|a| a == "--self-test");

    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };
    let pool = PoolOptions::new().max_connections(10).connect(&url).await?;
    // The migrations are in the binary; each one applied at most once, whichever
    // instance gets there first.
    quarry::migrate!("examples/migrations")
        .on_progress(|m| println!("migrated: {} ({} ms)", m.file, m.elapsed.as_millis()))
        .run(&pool)
        .await?;

    // Every handler gets a clone of the pool through axum's `State`.
    let app = Router::new()
        .route("/accounts", post(create_account))
        .route("/accounts/{id}", get(get_account))
        .route("/accounts/search", post(search_accounts))
        .route("/transfers", post(transfer))
        .with_state(pool.clone());

    if self_test {
        // A free port, the server in a task, a few real requests, then exit.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        println!("self-test: serving on http://{addr}");
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let outcome = self_test_requests(addr).await;
        server.abort();
        pool.close().await;
        outcome?;
        println!("self-test passed");
    } else {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
        let addr = listener.local_addr()?;
        println!("serving on http://{addr} (Ctrl-C to stop); try:");
        println!(
            "  curl -s -H 'content-type: application/json' -d '{{\"owner\":\"Ada\",\"balance\":100}}' http://{addr}/accounts"
        );
        println!("  curl -s http://{addr}/accounts/1");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        pool.close().await;
        println!("stopped");
    }
    Ok(())
}

// --- Handlers --------------------------------------------------------------------------

/// `POST /accounts`: one statement, so no explicit transaction; the query borrows a
/// connection from the pool for as long as it runs.
async fn create_account(
    State(pool): State<Pool>,
    Json(new): Json<NewAccount>,
) -> Result<(StatusCode, Json<Account>), AppError> {
    if new.balance < 0 {
        return Err(AppError::BadRequest("an account cannot open overdrawn"));
    }
    let account = quarry::query_as!(
        Account,
        "INSERT INTO accounts (owner, balance) VALUES ($1, $2) RETURNING id, owner, balance",
        new.owner,
        new.balance
    )
    .fetch_one(&pool)
    .await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// `GET /accounts/{id}`: `fetch_optional` gives `None` when no row matches.
async fn get_account(
    State(pool): State<Pool>,
    Path(id): Path<i64>,
) -> Result<Json<Account>, AppError> {
    let account = quarry::query_as!(
        Account,
        "SELECT id, owner, balance FROM accounts WHERE id = $1",
        id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound("account"))?;
    Ok(Json(account))
}

/// `POST /accounts/search`: SQL whose shape depends on the request, built with
/// `QueryBuilder`. Text goes in only as literals in this code; every value from the
/// request is bound (`$n`, numbered by the builder); the sort column comes from a
/// whitelist and is quoted as an identifier.
async fn search_accounts(
    State(pool): State<Pool>,
    Json(s): Json<Search>,
) -> Result<Json<Value>, AppError> {
    let sort = match s.sort.as_deref() {
        None | Some("id") => None,
        Some("owner") => Some("owner"),
        Some(_) => return Err(AppError::BadRequest("sort is \"id\" or \"owner\"")),
    };
    let limit = s.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::BadRequest("limit is between 1 and 100"));
    }

    let mut q = QueryBuilder::new("SELECT id, owner, balance FROM accounts WHERE true");
    if let Some(owner) = s.owner {
        q.push(" AND owner ILIKE '%' || ")
            .push_bind(owner)
            .push(" || '%'");
    }
    if let Some(min) = s.min_balance {
        q.push(" AND balance >= ").push_bind(min);
    }
    if let Some(max) = s.max_balance {
        q.push(" AND balance <= ").push_bind(max);
    }
    if let Some(ids) = s.ids {
        q.push(" AND id = ANY(").push_bind(ids).push(")");
    }
    // Keyset pagination: rows after the cursor in (sort column, id) order. A row
    // comparison, so that owners sharing a name are neither skipped nor repeated.
    match (sort, s.after) {
        (_, None) => {}
        (None, Some(after)) => {
            q.push(" AND id > ").push_bind(after.id);
        }
        (Some(column), Some(after)) => {
            let Some(owner) = after.owner else {
                return Err(AppError::BadRequest(
                    "sorted by owner, after needs an owner",
                ));
            };
            q.push(" AND (").push_identifier(column).push(", id) > (");
            q.push_bind(owner).push(", ").push_bind(after.id).push(")");
        }
    }
    q.push(" ORDER BY ");
    if let Some(column) = sort {
        q.push_identifier(column).push(", ");
    }
    q.push("id LIMIT ").push_bind(limit);

    let accounts: Vec<Account> = q.build_query_as().fetch_all(&pool).await?;
    let full_page = usize::try_from(limit).is_ok_and(|l| accounts.len() == l);
    let next = accounts.last().filter(|_| full_page).map(|last| Cursor {
        owner: sort.map(|_| last.owner.clone()),
        id: last.id,
    });
    Ok(Json(json!({ "accounts": accounts, "next": next })))
}

/// `POST /transfers`: two updates that must happen together, in one transaction.
async fn transfer(
    State(pool): State<Pool>,
    Json(t): Json<Transfer>,
) -> Result<Json<Value>, AppError> {
    if t.amount <= 0 || t.from == t.to {
        return Err(AppError::BadRequest(
            "amount must be positive, from and to different",
        ));
    }
    // Acquire a connection and start a transaction on it. Every `?` below that
    // returns early drops `tx` unfinished, which rolls the transaction back; the
    // connection goes back to the pool when `conn` is dropped.
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    // `balance >= 0` is a CHECK constraint: an overdraft fails here with 23514,
    // which `AppError` turns into 409 Conflict.
    let from = quarry::query_scalar!(
        "UPDATE accounts SET balance = balance - $1 WHERE id = $2 RETURNING balance",
        t.amount,
        t.from
    )
    .fetch_optional(&mut tx)
    .await?
    .ok_or(AppError::NotFound("account to debit"))?;
    let to = quarry::query_scalar!(
        "UPDATE accounts SET balance = balance + $1 WHERE id = $2 RETURNING balance",
        t.amount,
        t.to
    )
    .fetch_optional(&mut tx)
    .await?
    .ok_or(AppError::NotFound("account to credit"))?;
    tx.commit().await?;
    Ok(Json(json!({ "from_balance": from, "to_balance": to })))
}

/// What a handler can fail with, and the HTTP answer for each.
enum AppError {
    NotFound(&'static str),
    BadRequest(&'static str),
    Database(quarry::Error),
}

impl From<quarry::Error> for AppError {
    fn from(e: quarry::Error) -> AppError {
        AppError::Database(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            AppError::NotFound(what) => (StatusCode::NOT_FOUND, format!("no such {what}")),
            AppError::BadRequest(why) => (StatusCode::BAD_REQUEST, why.to_owned()),
            // The error's predicates read its SQLSTATE: no string matching.
            AppError::Database(e) if e.is_check_violation() => {
                (StatusCode::CONFLICT, "insufficient funds".to_owned())
            }
            AppError::Database(e) => {
                // Log the details; do not send them to the client.
                eprintln!("database error: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

// --- Self-test -------------------------------------------------------------------------

/// Calls the service the way a client would, and checks every answer.
async fn self_test_requests(addr: SocketAddr) -> Result<(), BoxError> {
    let (status, ada) = request(
        addr,
        "POST",
        "/accounts",
        Some(json!({"owner": "Ada", "balance": 100})),
    )
    .await?;
    check(status == 201, "POST /accounts", status, &ada)?;
    let (status, bob) = request(
        addr,
        "POST",
        "/accounts",
        Some(json!({"owner": "Bob", "balance": 0})),
    )
    .await?;
    check(status == 201, "POST /accounts", status, &bob)?;
    let (ada_id, bob_id) = (ada["id"].clone(), bob["id"].clone());

    let (status, body) = request(
        addr,
        "POST",
        "/transfers",
        Some(json!({"from": ada_id, "to": bob_id, "amount": 30})),
    )
    .await?;
    check(
        status == 200 && body == json!({"from_balance": 70, "to_balance": 30}),
        "transfer of 30",
        status,
        &body,
    )?;

    // Overdraft: the CHECK constraint fails, the transaction is rolled back.
    let (status, body) = request(
        addr,
        "POST",
        "/transfers",
        Some(json!({"from": bob_id, "to": ada_id, "amount": 1000})),
    )
    .await?;
    check(status == 409, "overdraft", status, &body)?;
    let (status, body) = request(addr, "GET", &format!("/accounts/{bob_id}"), None).await?;
    check(
        status == 200 && body["balance"] == 30,
        "balance after the refused transfer",
        status,
        &body,
    )?;

    let (status, body) = request(addr, "GET", "/accounts/0", None).await?;
    check(status == 404, "GET /accounts/0", status, &body)?;

    // Search: two more accounts, then pages of two sorted by owner. Ids are compared
    // with the ones created here (a DATABASE_URL may hold accounts from earlier runs).
    let mut ids = vec![ada_id.clone(), bob_id.clone()];
    for (owner, balance) in [("Ada", 5), ("Cy'; DROP TABLE accounts; --", 50)] {
        let (status, body) = request(
            addr,
            "POST",
            "/accounts",
            Some(json!({"owner": owner, "balance": balance})),
        )
        .await?;
        check(status == 201, "POST /accounts", status, &body)?;
        ids.push(body["id"].clone());
    }
    let owners_of = |body: &Value| -> Vec<Value> {
        body["accounts"]
            .as_array()
            .map(|a| a.iter().map(|x| x["owner"].clone()).collect())
            .unwrap_or_default()
    };
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for page in 0..3 {
        let mut search = json!({"ids": ids, "sort": "owner", "limit": 2});
        if !after.is_null() {
            search["after"] = after.clone();
        }
        let (status, body) = request(addr, "POST", "/accounts/search", Some(search)).await?;
        check(status == 200, &format!("search page {page}"), status, &body)?;
        seen.extend(owners_of(&body));
        after = body["next"].clone();
        if after.is_null() {
            break;
        }
    }
    check(
        seen == [
            json!("Ada"),
            json!("Ada"),
            json!("Bob"),
            json!("Cy'; DROP TABLE accounts; --"),
        ],
        "every account once, in owner order, across pages",
        200,
        &json!(seen),
    )?;
    let search = json!({"ids": ids, "owner": "ad", "min_balance": 10, "max_balance": 1000});
    let (status, body) = request(addr, "POST", "/accounts/search", Some(search)).await?;
    check(
        status == 200 && owners_of(&body) == [json!("Ada")] && body["accounts"][0]["balance"] == 70,
        "search with filters",
        status,
        &body,
    )?;
    let search = json!({"ids": ids, "sort": "balance; DROP TABLE accounts"});
    let (status, body) = request(addr, "POST", "/accounts/search", Some(search)).await?;
    check(
        status == 400,
        "a sort column off the whitelist",
        status,
        &body,
    )?;
    Ok(())
}

fn check(ok: bool, what: &str, status: u16, body: &Value) -> Result<(), BoxError> {
    println!("  {what}: {status} {body}");
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected answer to {what}: {status} {body}").into())
    }
}

/// A minimal HTTP/1.1 client: one request per connection (`Connection: close`), the
/// response read to its end. Enough for a self-test, without another dependency.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;

    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("the response has no end of headers")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("the response has no status line")?;
    Ok((status, serde_json::from_str(body)?))
}
