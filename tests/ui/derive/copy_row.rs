use quarry::CopyRow;

#[derive(CopyRow)]
enum NotAStruct {
    A,
}

#[derive(CopyRow)]
struct NoFields;

#[derive(CopyRow)]
struct EmptyBraces {}

#[derive(CopyRow)]
struct Generic<T> {
    value: T,
}

#[derive(CopyRow)]
#[quarry(rename_all = "camelCase")]
struct UnknownAttribute {
    id: i64,
}

struct NotAPgType;

#[derive(CopyRow)]
struct FieldWithoutCodec {
    id: i64,
    other: NotAPgType,
}

fn main() {}
