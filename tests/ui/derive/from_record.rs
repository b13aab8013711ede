use quarry::FromRecord;

#[derive(FromRecord)]
enum NotAStruct {
    A,
}

#[derive(FromRecord)]
struct UnknownOption {
    #[quarry(renamed = "x")]
    a: i32,
}

#[derive(FromRecord)]
struct SkipAndRename {
    #[quarry(skip, rename = "x")]
    a: i32,
}

#[derive(FromRecord)]
#[quarry(rename_all = "Title Case")]
struct BadCase {
    a: i32,
}

#[derive(FromRecord)]
struct JsonAndTryFrom {
    #[quarry(json, try_from = "i64")]
    a: i32,
}

fn main() {}
