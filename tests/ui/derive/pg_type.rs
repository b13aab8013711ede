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

#[derive(PgType)]
#[pg(rename_all = "snake_case", rename_all = "camelCase")]
enum TwoRenameAll {
    A,
}

#[derive(PgType)]
#[pg(labels = "x")]
enum UnknownOption {
    A,
}

#[derive(PgType)]
enum UnknownVariantOption {
    #[pg(type_name = "x")]
    A,
}

#[derive(PgType)]
#[pg(transparent, rename_all = "snake_case")]
struct TransparentRenamed(i32);

#[derive(PgType)]
union NotAType {
    a: i32,
}

#[derive(PgType)]
enum Generic<T> {
    A,
    B(std::marker::PhantomData<T>),
}

#[derive(PgType)]
enum NoVariants {}

#[derive(PgType)]
enum LongLabel {
    #[pg(rename = "a_label_that_is_longer_than_the_sixty_three_bytes_postgres_allows_x")]
    A,
}

#[derive(PgType)]
struct SameField {
    a: i32,
    #[pg(rename = "a")]
    b: i32,
}

#[derive(PgType)]
struct UnitStruct;

fn main() {}
