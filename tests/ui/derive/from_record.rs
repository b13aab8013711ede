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

#[derive(FromRecord)]
union NotAStructEither {
    a: i32,
}

#[derive(FromRecord)]
#[quarry(rename_all = "camelCase", rename_all = "snake_case")]
struct TwoRenameAll {
    a: i32,
}

#[derive(FromRecord)]
#[quarry(rename = "x")]
struct OptionOnStruct {
    a: i32,
}

#[derive(FromRecord)]
#[quarry(crate = "quarry", crate = "quarry")]
struct TwoCrates {
    a: i32,
}

#[derive(FromRecord)]
struct TwoTryFrom {
    #[quarry(try_from = "i64", try_from = "i32")]
    a: u32,
}

#[derive(FromRecord)]
struct TwoRenames {
    #[quarry(rename = "x", rename = "y")]
    a: i32,
}

#[derive(FromRecord)]
struct TwoDefaults {
    #[quarry(default, default)]
    a: i32,
}

#[derive(FromRecord)]
struct FlattenAndRename {
    #[quarry(flatten, rename = "x")]
    a: i32,
}

#[derive(FromRecord)]
#[quarry(rename_all = "camelCase")]
struct TupleRenameAll(i32);

#[derive(FromRecord)]
struct TupleRename(#[quarry(rename = "x")] i32);

#[derive(FromRecord)]
struct TupleDefault(#[quarry(default)] i32);

fn main() {}
