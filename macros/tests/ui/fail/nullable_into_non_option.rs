pub struct User {
    pub id: i64,
    pub email: String, // the column may be NULL
}

impl<'r> quarry::FromRecord<'r> for User {
    fn from_record(row: &'r quarry::Row) -> quarry::Result<Self> {
        Ok(User { id: row.try_get("id")?, email: row.try_get("email")? })
    }
}

// What #[derive(FromRecord)] emits for each field.
impl quarry::__private::RecordField<{ quarry::__private::column_key("id") }> for User {
    type Type = i64;
}
impl quarry::__private::RecordField<{ quarry::__private::column_key("email") }> for User {
    type Type = String;
}

fn main() {
    let _ = quarry::query_as!(User, "SELECT id, email FROM users");
}
