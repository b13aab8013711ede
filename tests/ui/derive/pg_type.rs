use quarry::PgType;

#[derive(PgType)]
enum WithData {
    A(i32),
}

#[derive(PgType)]
struct Newtype(i64);

#[derive(PgType)]
#[pg(rename_all = "snake_case")]
enum SameLabel {
    VeryHappy,
    #[pg(rename = "very_happy")]
    Other,
}

#[derive(PgType)]
#[pg(type_name = "a.b.c")]
enum BadName {
    A,
}

#[derive(PgType)]
#[pg(transparent)]
struct TwoFields(i32, i32);

fn main() {}
