//! Which result columns can be NULL, from the server's plan of the query.
//!
//! A column is non-null only when that is certain. The plan comes from
//! `EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE stmt(NULL, ...)` under
//! `plan_cache_mode = force_generic_plan`, so it does not depend on parameter
//! values. Each output expression of the top plan node is parsed (PostgreSQL
//! prints them with `ruleutils.c`'s deparser) and evaluated:
//!
//! - a column reference is followed down the plan to the node that produces it:
//!   through joins (a reference found on the nullable side of an outer join is
//!   nullable), sorts, aggregates, subquery and CTE scans, `Append` (a column of
//!   a `UNION` is non-null only if it is in every branch), down to a table scan,
//!   where the catalog says whether the column is `NOT NULL` (views are already
//!   expanded into their tables in the plan);
//! - expressions follow rules that are certain: literals, `count`, `COALESCE`
//!   with a non-null argument, `EXISTS`, casts and a list of strict operators and
//!   functions of non-null inputs, `CASE` whose branches and `ELSE` are all
//!   non-null, `min`/`max`/`sum`/... of a non-null input in a grouped aggregate,
//!   `row_number()` and friends, scalar subqueries that always return one row;
//! - anything else (function results outside the list, parameters, JSON
//!   operators, unknown syntax) is nullable.

use std::collections::HashMap;

use serde_json::Value;

/// What the catalog says about table columns.
pub(crate) trait Catalog {
    /// Whether `schema.table.column` is `NOT NULL` (or of a `NOT NULL` domain);
    /// `None` when unknown.
    fn not_null(&self, schema: &str, table: &str, column: &str) -> Option<bool>;
}

/// One node of the plan, with the fields the analysis reads.
#[derive(Debug)]
struct Node<'p> {
    node_type: &'p str,
    join_type: Option<&'p str>,
    parent: Option<&'p str>,
    subplan_name: Option<&'p str>,
    alias: Option<&'p str>,
    relation: Option<(&'p str, &'p str)>,
    cte_name: Option<&'p str>,
    function_name: Option<&'p str>,
    operation: Option<&'p str>,
    strategy: Option<&'p str>,
    grouping_sets: bool,
    filtered: bool,
    output: Option<Vec<&'p str>>,
    children: Vec<Node<'p>>,
}

impl<'p> Node<'p> {
    fn from_json(v: &'p Value, depth: u32) -> Option<Node<'p>> {
        if depth > 200 {
            return None;
        }
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let output = v.get("Output").and_then(Value::as_array).map(|a| {
            a.iter()
                .map(|e| e.as_str().unwrap_or("\u{0}"))
                .collect::<Vec<_>>()
        });
        let children = match v.get("Plans").and_then(Value::as_array) {
            Some(plans) => plans
                .iter()
                .map(|p| Node::from_json(p, depth + 1))
                .collect::<Option<Vec<_>>>()?,
            None => Vec::new(),
        };
        let relation = match (s("Schema"), s("Relation Name")) {
            (Some(schema), Some(rel)) => Some((schema, rel)),
            _ => None,
        };
        Some(Node {
            node_type: s("Node Type")?,
            join_type: s("Join Type"),
            parent: s("Parent Relationship"),
            subplan_name: s("Subplan Name"),
            alias: s("Alias"),
            relation,
            cte_name: s("CTE Name"),
            function_name: s("Function Name"),
            operation: s("Operation"),
            strategy: s("Strategy"),
            grouping_sets: v.get("Grouping Sets").is_some() || s("Strategy") == Some("Mixed"),
            filtered: v.get("Filter").is_some() || v.get("One-Time Filter").is_some(),
            output,
            children,
        })
    }

    /// A scan of a table (whose column references are the table's columns).
    fn is_scan(&self) -> bool {
        self.relation.is_some() && self.node_type != "ModifyTable"
    }

    fn is_subplan(&self) -> bool {
        matches!(self.parent, Some("InitPlan" | "SubPlan"))
    }

    /// Children that feed this node's rows (not its subplans).
    fn inputs(&self) -> impl Iterator<Item = &Node<'p>> {
        self.children.iter().filter(|c| !c.is_subplan())
    }

    fn is_append(&self) -> bool {
        matches!(
            self.node_type,
            "Append" | "Merge Append" | "Recursive Union"
        )
    }

    /// Whether a child's rows may be NULL-extended by this node (outer joins).
    fn nulls_child(&self, child: &Node<'_>) -> bool {
        matches!(
            (self.join_type, child.parent),
            (Some("Left"), Some("Inner")) | (Some("Right"), Some("Outer")) | (Some("Full"), _)
        )
    }

    /// The output list, or for an `Append` (which prints none) its first member's.
    fn effective_output(&self) -> Option<&[&'p str]> {
        match &self.output {
            Some(o) => Some(o),
            None if self.is_append() => self.inputs().next()?.effective_output(),
            None => None,
        }
    }

    /// Whether the node returns exactly one row (a scalar subquery over it is never empty).
    fn returns_one_row(&self) -> bool {
        match self.node_type {
            "Aggregate" => self.strategy == Some("Plain") && !self.filtered && !self.grouping_sets,
            "Result" => self.inputs().next().is_none() && !self.filtered,
            _ => false,
        }
    }
}

/// Nullability of the first `columns` outputs of a plan (`true` = may be NULL).
///
/// `plan` is EXPLAIN's JSON: an array with one object holding `"Plan"`.
/// Returns `None` when the plan cannot be read.
pub(crate) fn infer(plan: &Value, columns: usize, catalog: &dyn Catalog) -> Option<Vec<bool>> {
    let root = plan.get(0)?.get("Plan")?;
    let root = Node::from_json(root, 0)?;
    let mut index = Index::default();
    index.add(&root);
    let analysis = Analysis {
        catalog,
        subplans: index.subplans,
        params: index.params,
    };
    let mut out = Vec::with_capacity(columns);
    for i in 0..columns {
        let non_null = analysis.output_non_null(&root, i, 0);
        out.push(!non_null);
    }
    Some(out)
}

/// The tables the plan scans or modifies: `(schema, table)`.
pub(crate) fn relations(plan: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, out: &mut Vec<(String, String)>, depth: u32) {
        if depth > 200 {
            return;
        }
        if let (Some(schema), Some(rel)) = (
            v.get("Schema").and_then(Value::as_str),
            v.get("Relation Name").and_then(Value::as_str),
        ) {
            let pair = (schema.to_owned(), rel.to_owned());
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
        if let Some(plans) = v.get("Plans").and_then(Value::as_array) {
            for p in plans {
                walk(p, out, depth + 1);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(root) = plan.get(0).and_then(|p| p.get("Plan")) {
        walk(root, &mut out, 0);
    }
    out
}

#[derive(Default)]
struct Index<'a, 'p> {
    /// "SubPlan 1", "InitPlan 2", "CTE name" -> node.
    subplans: HashMap<String, &'a Node<'p>>,
    /// PostgreSQL < 16 names InitPlan outputs `$n`: n -> (node, output column).
    params: HashMap<u32, (&'a Node<'p>, usize)>,
}

impl<'a, 'p> Index<'a, 'p> {
    fn add(&mut self, node: &'a Node<'p>) {
        if let Some(name) = node.subplan_name {
            // "InitPlan 4 (returns $3,$4)" -> "InitPlan 4", and $3, $4.
            let (key, returns) = match name.split_once(" (returns ") {
                Some((key, rest)) => (key, Some(rest.trim_end_matches(')'))),
                None => (name, None),
            };
            self.subplans.insert(key.to_owned(), node);
            if let Some(returns) = returns {
                for (i, p) in returns.split(',').enumerate() {
                    if let Some(n) = p.trim().strip_prefix('$').and_then(|n| n.parse().ok()) {
                        self.params.insert(n, (node, i));
                    }
                }
            }
        }
        for c in &node.children {
            self.add(c);
        }
    }
}

struct Analysis<'a, 'p> {
    catalog: &'a dyn Catalog,
    subplans: HashMap<String, &'a Node<'p>>,
    params: HashMap<u32, (&'a Node<'p>, usize)>,
}

const MAX_DEPTH: u32 = 64;

impl<'a, 'p> Analysis<'a, 'p> {
    /// Whether output column `i` of `node` is certainly non-null.
    fn output_non_null(&self, node: &Node<'p>, i: usize, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match &node.output {
            Some(out) => match out.get(i) {
                Some(text) => self.text_non_null(node, text, depth + 1),
                None => false,
            },
            // Append and friends: a column is non-null only if it is in every member.
            None if node.is_append() => {
                let mut any = false;
                for member in node.inputs() {
                    any = true;
                    if !self.output_non_null(member, i, depth + 1) {
                        return false;
                    }
                }
                any
            }
            None => false,
        }
    }

    /// Whether expression `text`, evaluated at `node`, is certainly non-null.
    fn text_non_null(&self, node: &Node<'p>, text: &str, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        if let Some(found) = self.lookup(node, text, depth) {
            return found;
        }
        let Some(expr) = parse(text) else {
            return false;
        };
        self.expr_non_null(node, &expr, text, depth)
    }

    /// A reference to something an input of `node` produces: `Some(non-null)` if
    /// `text` (or `text` without its outer parentheses) is one of an input's outputs.
    fn lookup(&self, node: &Node<'p>, text: &str, depth: u32) -> Option<bool> {
        if node.is_scan() || node.children.is_empty() {
            return None;
        }
        let inner = strip_parens(text);
        for child in node.inputs() {
            let Some(out) = child.effective_output() else {
                continue;
            };
            let position = out
                .iter()
                .position(|o| *o == text)
                .or_else(|| inner.and_then(|inner| out.iter().position(|o| *o == inner)));
            if let Some(i) = position {
                if node.nulls_child(child) {
                    return Some(false);
                }
                let through_grouping_sets = node.grouping_sets;
                let non_null = self.output_non_null(child, i, depth + 1);
                return Some(non_null && !through_grouping_sets);
            }
        }
        None
    }

    fn sub_non_null(&self, node: &Node<'p>, e: &Expr, src: &str, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let text = src.get(e.span.0..e.span.1).unwrap_or("");
        if let Some(found) = self.lookup(node, text, depth) {
            return found;
        }
        self.expr_non_null(node, e, src, depth + 1)
    }

    fn all_non_null(&self, node: &Node<'p>, args: &[Expr], src: &str, depth: u32) -> bool {
        args.iter()
            .all(|a| self.sub_non_null(node, a, src, depth + 1))
    }

    fn expr_non_null(&self, node: &Node<'p>, e: &Expr, src: &str, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match &e.kind {
            Kind::Null | Kind::Unknown => false,
            Kind::Const => true,
            Kind::Param(n) => match self.params.get(n) {
                // An EXISTS initplan has no output list: true or false, never NULL.
                Some((plan, _)) if plan.output.is_none() && !plan.is_append() => true,
                Some((plan, column)) => self.scalar_subplan(plan, *column, depth),
                None => false, // a statement parameter may be bound to NULL
            },
            Kind::Paren(inner) | Kind::Cast(inner) => self.sub_non_null(node, inner, src, depth),
            Kind::Var { qual, name } => self.var_non_null(node, qual.as_deref(), name, depth),
            Kind::Op { op, args } => {
                let op = op.to_ascii_lowercase();
                if STRICT_OPERATORS.contains(&op.as_str()) {
                    self.all_non_null(node, args, src, depth)
                } else {
                    false
                }
            }
            Kind::NonNullTest => true,
            Kind::Case { results, has_else } => {
                *has_else && self.all_non_null(node, results, src, depth)
            }
            Kind::SubPlan {
                name,
                hashed,
                column,
            } => match self.subplans.get(name.as_str()) {
                // An EXISTS subplan has no output list: true or false, never NULL.
                Some(plan) if plan.output.is_none() && !plan.is_append() => true,
                Some(_) if *hashed => false,
                Some(plan) => self.scalar_subplan(plan, *column, depth),
                None => false,
            },
            Kind::Func {
                name,
                args,
                star,
                filter,
                over,
                known_args,
            } => self.func_non_null(
                node,
                name,
                args,
                *star,
                *filter,
                *over,
                *known_args,
                src,
                depth,
            ),
        }
    }

    /// A scalar subquery: non-null when it always returns one row whose value is non-null.
    fn scalar_subplan(&self, plan: &Node<'p>, column: usize, depth: u32) -> bool {
        plan.returns_one_row() && self.output_non_null(plan, column, depth + 1)
    }

    #[allow(clippy::too_many_arguments)]
    fn func_non_null(
        &self,
        node: &Node<'p>,
        name: &str,
        args: &[Expr],
        star: bool,
        filter: bool,
        over: bool,
        known_args: bool,
        src: &str,
        depth: u32,
    ) -> bool {
        let name = name.to_ascii_lowercase();
        let name = name.rsplit('.').next().unwrap_or(&name);
        if name == "count" {
            return true; // also with FILTER, DISTINCT, OVER
        }
        if over {
            return match name {
                "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => true,
                "ntile" => known_args && self.all_non_null(node, args, src, depth),
                _ => false,
            };
        }
        let grouped = node.node_type == "Aggregate"
            && matches!(node.strategy, Some("Sorted" | "Hashed"))
            && !node.grouping_sets;
        if AGGREGATES.contains(&name) {
            if filter || !known_args || !grouped {
                return false;
            }
            return match name {
                "array_agg" | "json_agg" | "jsonb_agg" | "json_object_agg" | "jsonb_object_agg" => {
                    true
                }
                "string_agg" => args
                    .first()
                    .is_some_and(|a| self.sub_non_null(node, a, src, depth)),
                _ => self.all_non_null(node, args, src, depth),
            };
        }
        if !known_args {
            return false;
        }
        match name {
            "coalesce" | "greatest" | "least" => {
                args.iter().any(|a| self.sub_non_null(node, a, src, depth))
            }
            "concat"
            | "json_build_object"
            | "jsonb_build_object"
            | "json_build_array"
            | "jsonb_build_array"
            | "now"
            | "gen_random_uuid"
            | "random"
            | "clock_timestamp"
            | "statement_timestamp"
            | "transaction_timestamp"
            | "exists"
            | "row"
            | "array" => true,
            "concat_ws" => args
                .first()
                .is_some_and(|a| self.sub_non_null(node, a, src, depth)),
            "generate_series" | "generate_subscripts" => true,
            _ if STRICT_FUNCTIONS.contains(&name) => {
                !star && self.all_non_null(node, args, src, depth)
            }
            _ => false,
        }
    }

    /// A column reference `qual.name` (or bare `name`) at `node`.
    fn var_non_null(&self, node: &Node<'p>, qual: Option<&str>, name: &str, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let alias_matches = |n: &Node<'_>| match qual {
            None => true,
            Some(q) => n.alias == Some(q),
        };
        if node.node_type == "ModifyTable" {
            // RETURNING old.x / new.x (PostgreSQL 18): the old row of an INSERT and the
            // new row of a DELETE do not exist; MERGE may do either.
            if let Some(q @ ("old" | "new")) = qual
                && node.alias != Some(q)
            {
                let missing = match node.operation {
                    Some("Insert") => q == "old",
                    Some("Delete") => q == "new",
                    Some("Update") => false,
                    _ => true,
                };
                if missing {
                    return false;
                }
                return node
                    .relation
                    .and_then(|(s, t)| self.catalog.not_null(s, t, name))
                    .unwrap_or(false);
            }
            if alias_matches(node)
                && let Some((schema, table)) = node.relation
            {
                return self.catalog.not_null(schema, table, name).unwrap_or(false);
            }
        } else if let Some((schema, table)) = node.relation {
            if alias_matches(node) {
                return self.catalog.not_null(schema, table, name).unwrap_or(false);
            }
            return false;
        }
        match node.node_type {
            "Subquery Scan" if alias_matches(node) => {
                let Some(source) = node.inputs().next() else {
                    return false;
                };
                self.named_output(source, name, depth)
            }
            "CTE Scan" if alias_matches(node) => {
                let Some(cte) = node.cte_name else {
                    return false;
                };
                match self.subplans.get(&format!("CTE {cte}")) {
                    Some(source) => self.named_output(source, name, depth),
                    None => false,
                }
            }
            "Function Scan" if alias_matches(node) => matches!(
                node.function_name,
                Some("generate_series" | "generate_subscripts")
            ),
            _ => {
                // A reference the lookup did not find as a whole: try the qualified and
                // bare spellings against the inputs.
                let spelled = match qual {
                    Some(q) => format!("{}.{}", quote_ident(q), quote_ident(name)),
                    None => quote_ident(name),
                };
                self.lookup(node, &spelled, depth).unwrap_or(false)
            }
        }
    }

    /// The output of `source` that a subquery or CTE column called `name` is: the
    /// one output whose natural column name (PostgreSQL's `FigureColname`) is `name`.
    fn named_output(&self, source: &Node<'p>, name: &str, depth: u32) -> bool {
        let Some(out) = source.effective_output() else {
            return false;
        };
        let mut found = None;
        for (i, text) in out.iter().enumerate() {
            let natural = parse(text).and_then(|e| column_name(&e));
            if natural.as_deref() == Some(name) {
                if found.is_some() {
                    return false; // ambiguous
                }
                found = Some(i);
            }
        }
        match found {
            Some(i) => self.output_non_null(source, i, depth + 1),
            None => false,
        }
    }
}

/// Operators that return NULL only for a NULL input (on the built-in types they
/// are used with).
const STRICT_OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "^", "||", "=", "<>", "!=", "<", ">", "<=", ">=", "~~", "!~~", "~~*",
    "!~~*", "~", "!~", "~*", "!~*", "@", "|", "&", "#", "<<", ">>", "and", "or", "not", "|/",
    "||/",
];

/// Aggregates that are non-null over a non-empty group of non-null inputs.
const AGGREGATES: &[&str] = &[
    "min",
    "max",
    "sum",
    "avg",
    "bool_and",
    "bool_or",
    "every",
    "bit_and",
    "bit_or",
    "bit_xor",
    "string_agg",
    "array_agg",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
];

/// Functions that return NULL only for a NULL argument.
const STRICT_FUNCTIONS: &[&str] = &[
    "upper",
    "lower",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "abs",
    "ceil",
    "ceiling",
    "floor",
    "round",
    "trunc",
    "sign",
    "sqrt",
    "cbrt",
    "exp",
    "ln",
    "log",
    "log10",
    "power",
    "pow",
    "mod",
    "div",
    "gcd",
    "lcm",
    "md5",
    "btrim",
    "ltrim",
    "rtrim",
    "lpad",
    "rpad",
    "replace",
    "reverse",
    "repeat",
    "left",
    "right",
    "substr",
    "strpos",
    "initcap",
    "translate",
    "ascii",
    "chr",
    "to_hex",
    "quote_ident",
    "quote_literal",
    "date_trunc",
    "date_part",
    "extract",
    "age",
    "timezone",
    "to_char",
    "to_timestamp",
    "to_date",
    "to_number",
    "make_date",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "make_interval",
    "cardinality",
    "array_to_string",
    "to_json",
    "to_jsonb",
    "row_to_json",
    "jsonb_typeof",
    "json_typeof",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "numeric",
    "text",
    "bool",
    "date",
    "timestamp",
    "timestamptz",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "encode",
    "decode",
    "split_part",
    "starts_with",
    "format_type",
    "pg_typeof",
    "isfinite",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "width_bucket",
    "num_nonnulls",
    "num_nulls",
    "factorial",
    "degrees",
    "radians",
    "sin",
    "cos",
    "tan",
    "pi",
];

fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `(x)` -> `x`, when the parentheses enclose the whole text.
fn strip_parens(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    // The first '(' must close at the very end.
    let mut depth = 0i32;
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 && i + 1 < text.len() {
                        return None;
                    }
                }
                _ => {}
            },
        }
    }
    Some(inner)
}

/// PostgreSQL's natural name of an output expression (`FigureColname`).
fn column_name(e: &Expr) -> Option<String> {
    match &e.kind {
        Kind::Var { name, .. } => Some(name.clone()),
        Kind::Func { name, .. } => {
            Some(name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase())
        }
        Kind::Paren(inner) | Kind::Cast(inner) => column_name(inner),
        Kind::Case { .. } => Some("case".into()),
        _ => None,
    }
}

// --- The expression parser ------------------------------------------------------------

/// A parsed expression with its byte range in the text.
#[derive(Debug)]
struct Expr {
    span: (usize, usize),
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Null,
    Const,
    Param(u32),
    Var {
        qual: Option<String>,
        name: String,
    },
    Paren(Box<Expr>),
    Cast(Box<Expr>),
    Op {
        op: String,
        args: Vec<Expr>,
    },
    /// `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM`, `IS [NOT] TRUE`, ...: never NULL.
    NonNullTest,
    Case {
        results: Vec<Expr>,
        has_else: bool,
    },
    SubPlan {
        name: String,
        hashed: bool,
        column: usize,
    },
    Func {
        name: String,
        args: Vec<Expr>,
        star: bool,
        filter: bool,
        over: bool,
        /// Whether the arguments were understood (not `EXTRACT(x FROM y)` syntax etc.).
        known_args: bool,
    },
    Unknown,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A quoted identifier.
    Quoted(String),
    Number,
    Str,
    Param(u32),
    Op(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Cast,
}

fn lex(src: &str) -> Option<Vec<(usize, usize, Tok)>> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'[' => {
                i += 1;
                Tok::LBracket
            }
            b']' => {
                i += 1;
                Tok::RBracket
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                Tok::Dot
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                i += 2;
                Tok::Cast
            }
            b'\'' => {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return None,
                        Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                Tok::Str
            }
            b'"' => {
                i += 1;
                let mut name = String::new();
                loop {
                    match b.get(i) {
                        None => return None,
                        Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                            name.push('"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => {
                            let ch = src[i..].chars().next()?;
                            name.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                Tok::Quoted(name)
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                let s = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                Tok::Param(src[s..i].parse().ok()?)
            }
            b'0'..=b'9' | b'.' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Tok::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                Tok::Ident(src.get(start..i)?.to_owned())
            }
            _ => {
                const OP: &[u8] = b"+-*/<>=~!@#%^&|`?";
                while i < b.len() && OP.contains(&b[i]) {
                    i += 1;
                }
                if i == start {
                    return None;
                }
                Tok::Op(src[start..i].to_owned())
            }
        };
        out.push((start, i, tok));
    }
    Some(out)
}

/// Parses one deparsed expression; `None` when it is not understood.
fn parse(src: &str) -> Option<Expr> {
    let toks = lex(src)?;
    let mut p = Parser { src, toks, pos: 0 };
    let e = p.expr(0)?;
    (p.pos == p.toks.len()).then_some(e)
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<(usize, usize, Tok)>,
    pos: usize,
}

/// Words that end an expression (they belong to an enclosing construct).
const STOP_WORDS: &[&str] = &[
    "when", "then", "else", "end", "from", "for", "as", "order", "filter", "over", "in",
    "distinct", "is", "and", "or", "not", "like", "ilike",
];

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.2)
    }

    fn peek_word(&self) -> Option<String> {
        match self.peek() {
            Some(Tok::Ident(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn start(&self) -> usize {
        self.toks.get(self.pos).map_or(0, |t| t.0)
    }

    fn end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|p| self.toks.get(p))
            .map_or(0, |t| t.1)
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek_word().as_deref() == Some(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// An operator chain: operands joined by operators, left to right (the deparser
    /// parenthesizes nested operators, so precedence does not matter here).
    fn expr(&mut self, depth: u32) -> Option<Expr> {
        if depth > 100 {
            return None;
        }
        let start = self.start();
        let mut operands = Vec::new();
        let mut ops: Vec<String> = Vec::new();
        loop {
            // Prefix NOT / unary operators.
            if self.eat_word("not") {
                ops.push("not".into());
                continue;
            }
            if let Some(Tok::Op(op)) = self.peek().cloned() {
                self.pos += 1;
                ops.push(op);
                continue;
            }
            let operand = self.postfix(depth)?;
            operands.push(operand);
            match self.peek().cloned() {
                Some(Tok::Op(op)) => {
                    self.pos += 1;
                    ops.push(op);
                }
                Some(Tok::Ident(w))
                    if matches!(
                        w.to_ascii_lowercase().as_str(),
                        "and" | "or" | "like" | "ilike"
                    ) =>
                {
                    self.pos += 1;
                    ops.push(w.to_ascii_lowercase());
                }
                _ => break,
            }
        }
        let end = self.end();
        if operands.len() == 1 && ops.is_empty() {
            return operands.pop();
        }
        // Any operator outside the strict list makes the whole chain unknown.
        let op = if ops.iter().all(|o| STRICT_OPERATORS.contains(&o.as_str())) {
            "+".to_owned()
        } else {
            ops.first().cloned().unwrap_or_default()
        };
        Some(Expr {
            span: (start, end),
            kind: Kind::Op { op, args: operands },
        })
    }

    /// A primary followed by `::type` casts, subscripts and `IS ...` tests.
    fn postfix(&mut self, depth: u32) -> Option<Expr> {
        let start = self.start();
        let mut e = self.primary(depth)?;
        loop {
            if self.eat(&Tok::Cast) {
                self.type_name()?;
                e = Expr {
                    span: (start, self.end()),
                    kind: Kind::Cast(Box::new(e)),
                };
            } else if self.peek() == Some(&Tok::LBracket) {
                // Subscript: NULL for a missing element.
                self.skip_balanced(&Tok::LBracket, &Tok::RBracket)?;
                e = Expr {
                    span: (start, self.end()),
                    kind: Kind::Unknown,
                };
            } else if self.eat_word("is") {
                self.eat_word("not");
                if self.eat_word("distinct") {
                    if !self.eat_word("from") {
                        return None;
                    }
                    self.postfix(depth + 1)?;
                } else if !(self.eat_word("null")
                    || self.eat_word("true")
                    || self.eat_word("false")
                    || self.eat_word("unknown"))
                {
                    return None;
                }
                e = Expr {
                    span: (start, self.end()),
                    kind: Kind::NonNullTest,
                };
            } else {
                return Some(e);
            }
        }
    }

    fn type_name(&mut self) -> Option<()> {
        // name[.name] [words] [(n[, m])] [[]...]
        match self.peek() {
            Some(Tok::Ident(_) | Tok::Quoted(_)) => self.pos += 1,
            _ => return None,
        }
        while self.eat(&Tok::Dot) {
            match self.peek() {
                Some(Tok::Ident(_) | Tok::Quoted(_)) => self.pos += 1,
                _ => return None,
            }
        }
        while let Some(w) = self.peek_word() {
            if matches!(
                w.as_str(),
                "precision" | "varying" | "with" | "without" | "time" | "zone"
            ) {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.peek() == Some(&Tok::LParen) {
            self.skip_balanced(&Tok::LParen, &Tok::RParen)?;
            // `timestamp(3) with time zone`
            while let Some(w) = self.peek_word() {
                if matches!(w.as_str(), "with" | "without" | "time" | "zone") {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        while self.peek() == Some(&Tok::LBracket) {
            self.skip_balanced(&Tok::LBracket, &Tok::RBracket)?;
        }
        Some(())
    }

    fn skip_balanced(&mut self, open: &Tok, close: &Tok) -> Option<()> {
        if !self.eat(open) {
            return None;
        }
        let mut depth = 1;
        while depth > 0 {
            let t = self.peek()?.clone();
            self.pos += 1;
            if t == *open {
                depth += 1;
            } else if t == *close {
                depth -= 1;
            }
        }
        Some(())
    }

    fn primary(&mut self, depth: u32) -> Option<Expr> {
        let start = self.start();
        let tok = self.peek()?.clone();
        let kind = match tok {
            Tok::Number | Tok::Str => {
                self.pos += 1;
                Kind::Const
            }
            Tok::Param(n) => {
                self.pos += 1;
                Kind::Param(n)
            }
            Tok::LParen => {
                self.pos += 1;
                // (SubPlan 1), (hashed SubPlan 2), (InitPlan 1).col1
                if let Some(sub) = self.subplan_ref()? {
                    if !self.eat(&Tok::RParen) {
                        return None;
                    }
                    let column = self.column_suffix()?;
                    match sub {
                        Kind::SubPlan { name, hashed, .. } => Kind::SubPlan {
                            name,
                            hashed,
                            column,
                        },
                        other => other,
                    }
                } else {
                    let inner = self.expr(depth + 1)?;
                    if !self.eat(&Tok::RParen) {
                        return None;
                    }
                    Kind::Paren(Box::new(inner))
                }
            }
            Tok::Quoted(name) => {
                self.pos += 1;
                self.name_tail(Some(name), depth)?
            }
            Tok::Ident(word) => {
                let lower = word.to_ascii_lowercase();
                if STOP_WORDS.contains(&lower.as_str()) && lower != "not" {
                    return None;
                }
                self.pos += 1;
                match lower.as_str() {
                    "null" => Kind::Null,
                    "true" | "false" | "current_date" | "current_time" | "current_timestamp"
                    | "localtime" | "localtimestamp" | "current_user" | "current_role"
                    | "session_user" | "user" | "current_catalog" => Kind::Const,
                    "case" => self.case(depth)?,
                    "array" if self.peek() == Some(&Tok::LBracket) => {
                        self.skip_balanced(&Tok::LBracket, &Tok::RBracket)?;
                        Kind::Const
                    }
                    "row" if self.peek() == Some(&Tok::LParen) => {
                        self.skip_balanced(&Tok::LParen, &Tok::RParen)?;
                        Kind::Const
                    }
                    _ => {
                        self.pos -= 1;
                        if let Some(sub) = self.subplan_ref()? {
                            sub
                        } else {
                            self.pos += 1;
                            self.name_tail(Some(word), depth)?
                        }
                    }
                }
            }
            _ => return None,
        };
        Some(Expr {
            span: (start, self.end()),
            kind,
        })
    }

    /// `SubPlan 1` / `hashed SubPlan 1` / `InitPlan 1` at the cursor, if there.
    fn subplan_ref(&mut self) -> Option<Option<Kind>> {
        let save = self.pos;
        let hashed = self.eat_word("hashed");
        let kind = match self.peek() {
            Some(Tok::Ident(w)) if w == "SubPlan" || w == "InitPlan" => w.clone(),
            _ => {
                self.pos = save;
                return Some(None);
            }
        };
        self.pos += 1;
        let Some((s, e, Tok::Number)) = self.toks.get(self.pos).cloned() else {
            self.pos = save;
            return Some(None);
        };
        self.pos += 1;
        let number = self.text_of(s, e)?;
        Some(Some(Kind::SubPlan {
            name: format!("{kind} {number}"),
            hashed,
            column: 0,
        }))
    }

    fn text_of(&self, s: usize, e: usize) -> Option<String> {
        self.src.get(s..e).map(str::to_owned)
    }

    /// `.colN` after `(InitPlan 1)` (PostgreSQL 16+): the 0-based column.
    fn column_suffix(&mut self) -> Option<usize> {
        if self.peek() == Some(&Tok::Dot)
            && let Some(Tok::Ident(w)) = self.toks.get(self.pos + 1).map(|t| t.2.clone())
            && let Some(n) = w.strip_prefix("col").and_then(|n| n.parse::<usize>().ok())
        {
            self.pos += 2;
            return Some(n.saturating_sub(1));
        }
        Some(0)
    }

    /// After a name: `.name` (a qualified column), or `(args)` (a function call).
    fn name_tail(&mut self, first: Option<String>, depth: u32) -> Option<Kind> {
        let mut parts = vec![first?];
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            match self.peek().cloned() {
                Some(Tok::Ident(n) | Tok::Quoted(n)) => {
                    self.pos += 1;
                    parts.push(n);
                }
                // `x.*` and friends
                _ => return None,
            }
        }
        if self.peek() == Some(&Tok::LParen) {
            return self.call(parts.join("."), depth);
        }
        let name = parts.pop()?;
        let qual = parts.pop();
        Some(Kind::Var { qual, name })
    }

    fn call(&mut self, name: String, depth: u32) -> Option<Kind> {
        self.pos += 1; // (
        let mut args = Vec::new();
        let mut star = false;
        let mut known_args = true;
        self.eat_word("distinct");
        if self.eat(&Tok::RParen) {
            // no arguments
        } else if self.peek() == Some(&Tok::Op("*".into()))
            && self.toks.get(self.pos + 1).map(|t| &t.2) == Some(&Tok::RParen)
        {
            self.pos += 2;
            star = true;
        } else {
            loop {
                let save = self.pos;
                match self.expr(depth + 1) {
                    Some(e) => args.push(e),
                    None => {
                        self.pos = save;
                        known_args = false;
                        break;
                    }
                }
                if self.eat(&Tok::Comma) {
                    continue;
                }
                if self.eat(&Tok::RParen) {
                    break;
                }
                if self.peek_word().as_deref() == Some("order") {
                    // array_agg(x ORDER BY y): the ordering does not change nullability.
                    break;
                }
                known_args = false;
                break;
            }
            if !matches!(
                self.toks.get(self.pos.wrapping_sub(1)).map(|t| &t.2),
                Some(Tok::RParen)
            ) || !known_args
                || self.peek_word().as_deref() == Some("order")
            {
                // Skip to the matching ')'.
                let mut level = 1;
                while level > 0 {
                    let t = self.peek()?.clone();
                    self.pos += 1;
                    match t {
                        Tok::LParen => level += 1,
                        Tok::RParen => level -= 1,
                        _ => {}
                    }
                }
            }
        }
        let mut filter = false;
        if self.eat_word("filter") {
            filter = true;
            self.skip_balanced(&Tok::LParen, &Tok::RParen)?;
        }
        let mut over = false;
        if self.eat_word("over") {
            over = true;
            if self.peek() == Some(&Tok::LParen) {
                self.skip_balanced(&Tok::LParen, &Tok::RParen)?;
            } else {
                self.pos += 1; // a window name
            }
        }
        Some(Kind::Func {
            name,
            args,
            star,
            filter,
            over,
            known_args,
        })
    }

    fn case(&mut self, depth: u32) -> Option<Kind> {
        let mut results = Vec::new();
        let mut has_else = false;
        if self.peek_word().as_deref() != Some("when") {
            self.expr(depth + 1)?; // CASE x WHEN ...
        }
        loop {
            if self.eat_word("when") {
                self.expr(depth + 1)?;
                if !self.eat_word("then") {
                    return None;
                }
                results.push(self.expr(depth + 1)?);
            } else if self.eat_word("else") {
                has_else = true;
                results.push(self.expr(depth + 1)?);
            } else if self.eat_word("end") {
                return Some(Kind::Case { results, has_else });
            } else {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static [(&'static str, &'static str, bool)]);

    impl Catalog for Fixed {
        fn not_null(&self, _schema: &str, table: &str, column: &str) -> Option<bool> {
            self.0
                .iter()
                .find(|(t, c, _)| *t == table && *c == column)
                .map(|(_, _, n)| *n)
        }
    }

    const CATALOG: Fixed = Fixed(&[
        ("users", "id", true),
        ("users", "name", true),
        ("users", "email", false),
        ("orders", "id", true),
        ("orders", "total", true),
        ("orders", "user_id", true),
    ]);

    fn plan(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn parses_deparsed_expressions() {
        for text in [
            "count(*)",
            "u.name",
            "COALESCE(email, 'x'::text)",
            "CASE WHEN (age > 3) THEN 'a'::text ELSE 'b'::text END",
            "'0'::double precision",
            "(age)::bigint",
            "(hashed SubPlan 2)",
            "(InitPlan 1).col1",
            "count(*) OVER (?)",
            "string_agg(note, ','::text)",
            "\"*SELECT* 2\".user_id",
            "(email IS NULL)",
            "EXTRACT(year FROM created)",
            "(x = ANY ('{1,2}'::integer[]))",
        ] {
            assert!(parse(text).is_some(), "{text}");
        }
    }

    #[test]
    fn count_and_left_join() {
        let p = plan(
            r#"[{"Plan": {"Node Type": "Aggregate", "Strategy": "Plain", "Output": ["count(*)"],
              "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Schema": "public",
                "Relation Name": "users", "Alias": "users", "Output": ["id", "name"]}]}}]"#,
        );
        assert_eq!(infer(&p, 1, &CATALOG), Some(vec![false]));
        let p = plan(
            r#"[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Left", "Output": ["u.name", "o.total"],
              "Plans": [
                {"Node Type": "Index Scan", "Parent Relationship": "Outer", "Schema": "public",
                 "Relation Name": "users", "Alias": "u", "Output": ["u.id", "u.name"]},
                {"Node Type": "Seq Scan", "Parent Relationship": "Inner", "Schema": "public",
                 "Relation Name": "orders", "Alias": "o", "Output": ["o.id", "o.total"]}]}}]"#,
        );
        assert_eq!(infer(&p, 2, &CATALOG), Some(vec![false, true]));
    }
}
