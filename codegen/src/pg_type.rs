//! `pg_type.tsv` -> `driver/src/types/oid.rs`.
//!
//! The TSV is the output of `codegen/data/pg_type.sql` (a `COPY ... TO STDOUT`
//! in text format with a header line) run against a fresh cluster.

use std::collections::{HashMap, HashSet};

use crate::{Error, POSTGRES_VERSION, emit};

/// The header line `pg_type.sql` produces; the columns are read by position.
const HEADER: &str = "oid\ttypname\ttyparray\ttypelem\ttyptype\ttypcategory\ttyplen\ttypsubscript\trngsubtype\trngmultitypid\tsql_name";

/// The subscript handler of true arrays (PostgreSQL's `IsTrueArrayType`:
/// `typlen = -1` and this handler). `name`, `point` and friends have a
/// `typelem` too, but a different handler: they are not arrays.
const ARRAY_SUBSCRIPT_HANDLER: &str = "array_subscript_handler";

#[derive(Debug)]
pub(crate) struct Table {
    types: Vec<Type>,
}

#[derive(Debug)]
struct Type {
    line: usize,
    oid: u32,
    typname: String,
    sql_name: String,
    typtype: char,
    category: char,
    len: i16,
    /// For true arrays only.
    element: Option<u32>,
    array: Option<u32>,
    range_subtype: Option<u32>,
    multirange: Option<u32>,
    /// For multiranges: the range whose `rngmultitypid` names this type.
    range: Option<u32>,
    /// The constant on `Oid`: `INT4`, `INT4_ARRAY`.
    konst: String,
}

pub(crate) fn parse(text: &str) -> Result<Table, Error> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, header)) if header == HEADER => {}
        _ => {
            return Err(Error::at(
                1,
                format!(
                    "expected the header line of pg_type.sql: {}",
                    HEADER.replace('\t', " ")
                ),
            ));
        }
    }

    let mut types: Vec<Type> = Vec::new();
    for (line, raw) in lines {
        if raw.is_empty() {
            continue;
        }
        types.push(parse_row(line, raw)?);
    }
    if types.is_empty() {
        return Err(Error::whole("no types found"));
    }
    for pair in types.windows(2) {
        if let [a, b] = pair
            && a.oid >= b.oid
        {
            return Err(Error::at(
                b.line,
                format!(
                    "OID {} follows {}: rows must be sorted by OID",
                    b.oid, a.oid
                ),
            ));
        }
    }
    link(&mut types)?;
    Ok(Table { types })
}

fn parse_row(line: usize, raw: &str) -> Result<Type, Error> {
    let err = |message: String| Error::at(line, message);
    if raw.contains('\\') {
        return Err(err(
            "backslash escapes (COPY text format) are not expected in type names".into(),
        ));
    }
    let fields: Vec<&str> = raw.split('\t').collect();
    let [
        oid,
        typname,
        typarray,
        typelem,
        typtype,
        category,
        len,
        typsubscript,
        rngsubtype,
        rngmultitypid,
        sql_name,
    ] = fields[..]
    else {
        return Err(err(format!(
            "expected 11 tab-separated columns, found {}",
            fields.len()
        )));
    };

    let number = |name: &str, value: &str| {
        value
            .parse::<u32>()
            .map_err(|_| err(format!("{name} `{value}` is not an OID")))
    };
    let optional = |name: &str, value: &str| number(name, value).map(|v| (v != 0).then_some(v));
    let single = |name: &str, value: &str, allowed: &dyn Fn(char) -> bool| {
        let mut chars = value.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if allowed(c) => Ok(c),
            _ => Err(err(format!("{name} `{value}` is not a valid {name}"))),
        }
    };

    let oid = number("oid", oid)?;
    if oid == 0 {
        return Err(err("oid 0 is not a type".into()));
    }
    let konst = const_name(typname).ok_or_else(|| {
        err(format!(
            "typname `{typname}` is not lowercase letters, digits and underscores"
        ))
    })?;
    let typtype = single("typtype", typtype, &|c| "bcdeprm".contains(c))?;
    let category = single("typcategory", category, &|c| c.is_ascii_uppercase())?;
    let len: i16 = len
        .parse()
        .ok()
        .filter(|l| *l > 0 || *l == -1 || *l == -2)
        .ok_or_else(|| err(format!("typlen `{len}` is not a size, -1 or -2")))?;
    let typelem = optional("typelem", typelem)?;
    let is_array = len == -1 && typsubscript == ARRAY_SUBSCRIPT_HANDLER;
    if is_array && typelem.is_none() {
        return Err(err(format!("array type {typname} has no typelem")));
    }
    if sql_name.is_empty() {
        return Err(err("empty sql_name".into()));
    }

    Ok(Type {
        line,
        oid,
        typname: typname.to_owned(),
        sql_name: sql_name.to_owned(),
        typtype,
        category,
        len,
        element: if is_array { typelem } else { None },
        array: optional("typarray", typarray)?,
        range_subtype: optional("rngsubtype", rngsubtype)?,
        multirange: optional("rngmultitypid", rngmultitypid)?,
        range: None,
        konst,
    })
}

/// `int4` -> `INT4`, `_int4` -> `INT4_ARRAY`; `None` for a name that cannot be a constant.
fn const_name(typname: &str) -> Option<String> {
    let (base, suffix) = match typname.strip_prefix('_') {
        Some(element) => (element, "_ARRAY"),
        None => (typname, ""),
    };
    let ok = base.starts_with(|c: char| c.is_ascii_lowercase())
        && base
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then(|| format!("{}{suffix}", base.to_ascii_uppercase()))
}

/// Checks every link between rows and fills in the multirange -> range link.
fn link(types: &mut [Type]) -> Result<(), Error> {
    let index: HashMap<u32, usize> = types.iter().enumerate().map(|(i, t)| (t.oid, i)).collect();
    let find = |from: &Type, what: &str, oid: u32| {
        index.get(&oid).copied().ok_or_else(|| {
            Error::at(
                from.line,
                format!(
                    "{what} {oid} of {} is not in the table (only OIDs below 10000 are kept; \
                     see codegen/data/pg_type.sql)",
                    from.typname
                ),
            )
        })
    };

    let mut ranges_of: Vec<(usize, u32)> = Vec::new();
    for t in types.iter() {
        if let Some(element) = t.element {
            let e = &types[find(t, "typelem", element)?];
            if t.typname.starts_with('_') && e.array != Some(t.oid) {
                return Err(Error::at(
                    t.line,
                    format!(
                        "{} is the array of {}, whose typarray is not {}",
                        t.typname, e.typname, t.oid
                    ),
                ));
            }
        } else if t.typname.starts_with('_') {
            return Err(Error::at(
                t.line,
                format!(
                    "{} is named like an array type but is not one (typlen -1 and \
                     {ARRAY_SUBSCRIPT_HANDLER})",
                    t.typname
                ),
            ));
        }
        if let Some(array) = t.array {
            let a = &types[find(t, "typarray", array)?];
            if a.element != Some(t.oid) || a.typname != format!("_{}", t.typname) {
                return Err(Error::at(
                    t.line,
                    format!(
                        "typarray of {} is {}, which is not `_{}` with element {}",
                        t.typname, a.typname, t.typname, t.oid
                    ),
                ));
            }
        }
        match (t.typtype, t.range_subtype, t.multirange) {
            ('r', Some(subtype), Some(multirange)) => {
                find(t, "rngsubtype", subtype)?;
                let m = find(t, "rngmultitypid", multirange)?;
                if types[m].typtype != 'm' {
                    return Err(Error::at(
                        t.line,
                        format!(
                            "rngmultitypid of {} is {}, which is not a multirange",
                            t.typname, types[m].typname
                        ),
                    ));
                }
                ranges_of.push((m, t.oid));
            }
            ('r', _, _) => {
                return Err(Error::at(
                    t.line,
                    format!("range type {} lacks rngsubtype or rngmultitypid", t.typname),
                ));
            }
            (_, None, None) => {}
            (_, _, _) => {
                return Err(Error::at(
                    t.line,
                    format!("{} has range columns but is not a range type", t.typname),
                ));
            }
        }
    }
    for (m, range) in ranges_of {
        let multirange = &mut types[m];
        if multirange.range.replace(range).is_some() {
            return Err(Error::at(
                multirange.line,
                format!("multirange {} belongs to two ranges", multirange.typname),
            ));
        }
    }
    let mut names = HashSet::new();
    for t in types.iter() {
        if t.typtype == 'm' && t.range.is_none() {
            return Err(Error::at(
                t.line,
                format!("multirange {} belongs to no range", t.typname),
            ));
        }
        if t.konst == "UNSPECIFIED" || !names.insert(t.konst.as_str()) {
            return Err(Error::at(
                t.line,
                format!(
                    "{} would be Oid::{}, a name already taken",
                    t.typname, t.konst
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn render(table: &Table) -> Result<String, Error> {
    let by_oid: HashMap<u32, &Type> = table.types.iter().map(|t| (t.oid, t)).collect();
    let konst = |oid: u32| {
        by_oid
            .get(&oid)
            .map(|t| format!("Oid::{}", t.konst))
            .ok_or_else(|| Error::whole(format!("OID {oid} vanished while rendering")))
    };
    let some_konst = |oid: Option<u32>| match oid {
        Some(oid) => konst(oid).map(|k| format!("Some({k})")),
        None => Ok("None".to_owned()),
    };

    let mut out = String::with_capacity(128 * 1024);
    emit!(
        out,
        "// @generated by quarry-codegen from codegen/data/pg_type.tsv; DO NOT EDIT."
    );
    emit!(out);
    emit!(
        out,
        "//! Object identifiers, and the built-in types of PostgreSQL {POSTGRES_VERSION} (the rows of"
    );
    emit!(out, "//! `pg_type` with OIDs below 10000).");
    emit!(out, "//!");
    emit!(
        out,
        "//! Generated: change `codegen/` and run `cargo run -p quarry-codegen`."
    );
    emit!(out);
    emit!(out, "use std::fmt;");
    emit!(out);

    emit!(
        out,
        "/// A PostgreSQL object identifier (`oid`), naming a type, table, function, ..."
    );
    emit!(out, "///");
    emit!(
        out,
        "/// The associated constants are PostgreSQL's built-in types, named by their catalog name"
    );
    emit!(
        out,
        "/// (`typname`) in capitals: [`Oid::INT4`] is `int4` (SQL `integer`). Array types are"
    );
    emit!(
        out,
        "/// `<ELEMENT>_ARRAY`: [`Oid::INT4_ARRAY`] is `_int4` (SQL `integer[]`). Built-in OIDs do not"
    );
    emit!(
        out,
        "/// change between releases, but a type added in a newer release is missing on older servers."
    );
    emit!(
        out,
        "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]"
    );
    emit!(out, "pub struct Oid(pub u32);");
    emit!(out);

    emit!(out, "impl Oid {{");
    emit!(
        out,
        "    /// OID 0: \"no type given; let the server infer it\"."
    );
    emit!(out, "    pub const UNSPECIFIED: Oid = Oid(0);");
    for t in &table.types {
        let mut doc = format!("`{}`", t.typname);
        if t.sql_name != t.typname {
            doc.push_str(&format!(" (SQL `{}`)", t.sql_name));
        }
        if let Some(element) = t.element {
            doc.push_str(&format!(": an array of [`{}`]", konst(element)?));
        } else if let Some(subtype) = t.range_subtype {
            doc.push_str(&format!(": a range of [`{}`]", konst(subtype)?));
        } else if let Some(range) = t.range {
            doc.push_str(&format!(": a multirange of [`{}`]", konst(range)?));
        }
        emit!(out, "    /// {doc}");
        emit!(out, "    pub const {}: Oid = Oid({});", t.konst, t.oid);
    }
    emit!(out);
    out.push_str(METHODS);
    emit!(out, "}}");
    emit!(out);
    out.push_str(DISPLAY_AND_ROW);
    emit!(out);

    emit!(
        out,
        "/// Every built-in type, sorted by OID (what [`Oid::builtin`] searches)."
    );
    emit!(out, "pub const BUILTIN_TYPES: &[BuiltinType] = &[");
    for t in &table.types {
        emit!(out, "    BuiltinType {{");
        emit!(out, "        oid: Oid::{},", t.konst);
        emit!(out, "        name: {:?},", t.typname);
        emit!(out, "        sql_name: {:?},", t.sql_name);
        emit!(out, "        kind: '{}',", t.typtype);
        emit!(out, "        category: '{}',", t.category);
        emit!(out, "        len: {},", t.len);
        emit!(out, "        element: {},", some_konst(t.element)?);
        emit!(out, "        array: {},", some_konst(t.array)?);
        emit!(
            out,
            "        range_subtype: {},",
            some_konst(t.range_subtype)?
        );
        emit!(out, "        multirange: {},", some_konst(t.multirange)?);
        emit!(out, "        range: {},", some_konst(t.range)?);
        emit!(out, "    }},");
    }
    emit!(out, "];");
    Ok(out)
}

/// The methods of `Oid`: fixed text, they read the generated table.
const METHODS: &str = r#"    /// This OID's row in [`BUILTIN_TYPES`], if it names a built-in type.
    pub const fn builtin(self) -> Option<&'static BuiltinType> {
        // Binary search; the generator checks that the table is sorted by OID.
        let mut low = 0;
        let mut high = BUILTIN_TYPES.len();
        while low < high {
            let mid = low + (high - low) / 2;
            // In bounds: low <= mid < high <= len.
            let row = &BUILTIN_TYPES[mid];
            if row.oid.0 == self.0 {
                return Some(row);
            }
            if row.oid.0 < self.0 {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        None
    }

    /// The built-in type with catalog name (`typname`) `name`: `"int4"`, `"_int4"`.
    /// Exact match: SQL spellings such as `integer` or `int4[]` are not recognised.
    pub fn from_builtin_name(name: &str) -> Option<Oid> {
        BUILTIN_TYPES.iter().find(|t| t.name == name).map(|t| t.oid)
    }

    /// The catalog name (`typname`) of a built-in type: `"int4"`; `"_int4"` for `int4[]`.
    pub const fn builtin_name(self) -> Option<&'static str> {
        match self.builtin() {
            Some(t) => Some(t.name),
            None => None,
        }
    }

    /// The array type whose elements are this built-in type (`INT4` -> `INT4_ARRAY`).
    pub const fn array_type(self) -> Option<Oid> {
        match self.builtin() {
            Some(t) => t.array,
            None => None,
        }
    }

    /// The element type of a built-in array type (`INT4_ARRAY` -> `INT4`).
    pub const fn element_type(self) -> Option<Oid> {
        match self.builtin() {
            Some(t) => t.element,
            None => None,
        }
    }

    /// Whether this is a built-in array type (`int2vector` and `oidvector` count: they are
    /// arrays on the wire).
    pub const fn is_array(self) -> bool {
        self.element_type().is_some()
    }

    /// The subtype of a built-in range type (`INT4RANGE` -> `INT4`).
    pub const fn range_subtype(self) -> Option<Oid> {
        match self.builtin() {
            Some(t) => t.range_subtype,
            None => None,
        }
    }

    /// The multirange type over a built-in range type (`INT4RANGE` -> `INT4MULTIRANGE`).
    pub const fn multirange_of_range(self) -> Option<Oid> {
        match self.builtin() {
            Some(t) => t.multirange,
            None => None,
        }
    }

    /// The range type a built-in multirange type is made of (`INT4MULTIRANGE` -> `INT4RANGE`).
    pub const fn range_of_multirange(self) -> Option<Oid> {
        match self.builtin() {
            Some(t) => t.range,
            None => None,
        }
    }
"#;

const DISPLAY_AND_ROW: &str = r#"impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A built-in type: its row of `pg_type` (and `pg_range`), as [`BUILTIN_TYPES`] lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BuiltinType {
    /// The type's OID.
    pub oid: Oid,
    /// The catalog name (`typname`): `int4`, `_int4`.
    pub name: &'static str,
    /// The name SQL shows (`format_type`): `integer`, `integer[]`.
    pub sql_name: &'static str,
    /// `typtype`: `b` base, `c` composite, `d` domain, `e` enum, `p` pseudo-type, `r` range,
    /// `m` multirange.
    pub kind: char,
    /// `typcategory`, the group the parser uses to choose implicit casts: `A` array,
    /// `B` boolean, `D` date/time, `N` numeric, `S` string, `U` user-defined, ...
    pub category: char,
    /// `typlen`: the size of a fixed-size type in bytes; -1 for a variable-length type,
    /// -2 for a NUL-terminated C string.
    pub len: i16,
    /// For an array type, its element type.
    pub element: Option<Oid>,
    /// The array type whose elements are this type.
    pub array: Option<Oid>,
    /// For a range type, the type of its bounds.
    pub range_subtype: Option<Oid>,
    /// For a range type, the multirange type over it.
    pub multirange: Option<Oid>,
    /// For a multirange type, the range type it is made of.
    pub range: Option<Oid>,
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn tsv(rows: &[&str]) -> String {
        let mut text = format!("{HEADER}\n");
        for row in rows {
            text.push_str(&row.replace(' ', "\t"));
            text.push('\n');
        }
        text
    }

    const INT4: &str = "23 int4 1007 0 b N 4 - 0 0 integer";
    const INT4_ARRAY: &str = "1007 _int4 0 23 b A -1 array_subscript_handler 0 0 integer[]";

    #[test]
    fn snippet_renders_constants_links_and_rows() {
        let text = tsv(&[
            "18 char 1002 0 b Z 1 - 0 0 \"char\"",
            "19 name 0 18 b S 64 raw_array_subscript_handler 0 0 name",
            INT4,
            "1002 _char 0 18 b A -1 array_subscript_handler 0 0 \"char\"[]",
            INT4_ARRAY,
            "3904 int4range 0 0 r R -1 - 23 4451 int4range",
            "4451 int4multirange 0 0 m R -1 - 0 0 int4multirange",
        ]);
        let rs = crate::oid_rs(&text).unwrap();
        assert!(rs.starts_with(
            "// @generated by quarry-codegen from codegen/data/pg_type.tsv; DO NOT EDIT.\n"
        ));
        for fragment in [
            "    /// `int4` (SQL `integer`)\n    pub const INT4: Oid = Oid(23);\n",
            "    /// `_int4` (SQL `integer[]`): an array of [`Oid::INT4`]\n    \
             pub const INT4_ARRAY: Oid = Oid(1007);\n",
            "    /// `char` (SQL `\"char\"`)\n    pub const CHAR: Oid = Oid(18);\n",
            "    pub const CHAR_ARRAY: Oid = Oid(1002);\n",
            "    /// `int4range`: a range of [`Oid::INT4`]\n",
            "    /// `int4multirange`: a multirange of [`Oid::INT4RANGE`]\n",
            "        oid: Oid::CHAR,\n        name: \"char\",\n        sql_name: \"\\\"char\\\"\",\n",
            "        oid: Oid::INT4_ARRAY,\n        name: \"_int4\",\n        sql_name: \"integer[]\",\n        \
             kind: 'b',\n        category: 'A',\n        len: -1,\n        element: Some(Oid::INT4),\n        \
             array: None,\n",
            "        range_subtype: Some(Oid::INT4),\n        multirange: Some(Oid::INT4MULTIRANGE),\n",
            "        range: Some(Oid::INT4RANGE),\n",
        ] {
            assert!(rs.contains(fragment), "missing:\n{fragment}\nin:\n{rs}");
        }
        // `name` has a typelem but is not an array.
        assert!(rs.contains("        oid: Oid::NAME,\n        name: \"name\",\n        sql_name: \"name\",\n        kind: 'b',\n        category: 'S',\n        len: 64,\n        element: None,\n"));
    }

    #[test]
    fn bad_input_names_the_line() {
        let err = parse("oid\ttypname\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("header"), "{err}");

        let err = parse(&tsv(&["23 int4 1007 0 b N 4 -"])).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("found 8"), "{err}");

        let err = parse(&tsv(&["23 Int4 0 0 b N 4 - 0 0 integer"])).unwrap_err();
        assert!(err.message.contains("typname `Int4`"), "{err}");

        let err = parse(&tsv(&["23 int4 0 0 b N four - 0 0 integer"])).unwrap_err();
        assert!(err.message.contains("typlen `four`"), "{err}");

        let err = parse(&tsv(&[
            "23 int4 0 0 b N 4 - 0 0 integer",
            "21 int2 0 0 b N 2 - 0 0 smallint",
        ]))
        .unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("sorted by OID"), "{err}");
    }

    #[test]
    fn dangling_or_inconsistent_links_are_refused() {
        // The array row is missing.
        let err = parse(&tsv(&[INT4])).unwrap_err();
        assert!(
            err.message
                .contains("typarray 1007 of int4 is not in the table"),
            "{err}"
        );

        // The element's typarray points elsewhere.
        let err = parse(&tsv(&["23 int4 0 0 b N 4 - 0 0 integer", INT4_ARRAY])).unwrap_err();
        assert!(err.message.contains("whose typarray is not 1007"), "{err}");

        // A multirange nobody points at.
        let err = parse(&tsv(&[
            "4451 int4multirange 0 0 m R -1 - 0 0 int4multirange",
        ]))
        .unwrap_err();
        assert!(err.message.contains("belongs to no range"), "{err}");
    }

    #[test]
    fn constant_names() {
        assert_eq!(const_name("int4").as_deref(), Some("INT4"));
        assert_eq!(const_name("_int4").as_deref(), Some("INT4_ARRAY"));
        assert_eq!(const_name("pg_lsn").as_deref(), Some("PG_LSN"));
        assert_eq!(const_name("_pg_lsn").as_deref(), Some("PG_LSN_ARRAY"));
        assert_eq!(const_name("_"), None);
        assert_eq!(const_name("1x"), None);
    }
}
