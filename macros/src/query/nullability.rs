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
    /// Whether `schema.table.column` has a `NOT NULL` constraint (a `NOT NULL`
    /// domain is no proof: NULL gets in through an empty scalar subquery);
    /// `None` when unknown.
    fn not_null(&self, schema: &str, table: &str, column: &str) -> Option<bool>;

    /// Whether the column's values certainly hold no NULL element: `true` for
    /// a column that is not an array, or an array column with a validated
    /// `CHECK (array_position(col, NULL) IS NULL)`.
    fn elements_not_null(&self, schema: &str, table: &str, column: &str) -> bool;

    /// Whether `name` resolves only to the built-in function of that name (no
    /// function of that name outside `pg_catalog` that a call could mean, and
    /// every built-in one strict).
    fn builtin_function(&self, name: &str) -> bool;
}

/// What the plan alone does not say.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// The number of statement parameters (`$1`..`$n` in the plan).
    pub(crate) params: usize,
    /// The server's major version.
    pub(crate) server_major: u32,
    /// Subquery and CTE column names and sublink shapes from the query's text.
    pub(crate) aliases: super::aliases::Aliases,
}

/// The verdict on one output column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The column may be NULL.
    pub(crate) nullable: bool,
    /// An element of the column (an array) may be NULL.
    pub(crate) elements_nullable: bool,
}

/// Which property of a value is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prop {
    /// The value is not NULL.
    Value,
    /// No element of the value (an array) is NULL; vacuously true of a NULL or
    /// of a value that is not an array.
    Elements,
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
    /// A `SetOp` for `INTERSECT [ALL]`: a row comes out only if an equal one (NULL
    /// equal to NULL) is on both sides, so a column has a property when either side
    /// proves it.
    intersect: bool,
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
            intersect: s("Node Type") == Some("SetOp")
                && s("Command").is_some_and(|c| c.starts_with("Intersect")),
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

/// Verdicts on the first `columns` outputs of a plan.
///
/// `plan` is EXPLAIN's JSON: an array with one object holding `"Plan"`.
/// Returns `None` when the plan cannot be read.
pub(crate) fn infer(
    plan: &Value,
    columns: usize,
    catalog: &dyn Catalog,
    context: &Context,
) -> Option<Vec<Verdict>> {
    let root = plan.get(0)?.get("Plan")?;
    let root = Node::from_json(root, 0)?;
    let mut index = Index::default();
    index.add(&root);
    let analysis = Analysis {
        catalog,
        context,
        subplans: index.subplans,
        params: index.params,
        aliases: index.aliases,
    };
    let mut out = Vec::with_capacity(columns);
    for i in 0..columns {
        out.push(Verdict {
            nullable: !analysis.output(&root, i, Prop::Value, 0),
            elements_nullable: !analysis.output(&root, i, Prop::Elements, 0),
        });
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
    /// PostgreSQL < 17 names InitPlan outputs `$n`: n -> (node, output column).
    params: HashMap<u32, (&'a Node<'p>, usize)>,
    /// Every alias in the plan.
    aliases: Vec<&'p str>,
}

impl<'a, 'p> Index<'a, 'p> {
    fn add(&mut self, node: &'a Node<'p>) {
        if let Some(alias) = node.alias {
            self.aliases.push(alias);
        }
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
    context: &'a Context,
    subplans: HashMap<String, &'a Node<'p>>,
    params: HashMap<u32, (&'a Node<'p>, usize)>,
    aliases: Vec<&'p str>,
}

const MAX_DEPTH: u32 = 64;

impl<'a, 'p> Analysis<'a, 'p> {
    /// Whether output column `i` of `node` certainly has `prop`.
    fn output(&self, node: &Node<'p>, i: usize, prop: Prop, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        if node.intersect && self.either_side(node, i, prop, depth) {
            return true;
        }
        match &node.output {
            Some(out) => match out.get(i) {
                Some(text) => {
                    // Set-returning functions side by side: the shorter ones are
                    // padded with NULL (PostgreSQL 10+).
                    if node.node_type == "ProjectSet"
                        && prop == Prop::Value
                        && out.iter().filter(|t| calls_function(t)).count() > 1
                        && calls_function(text)
                    {
                        return false;
                    }
                    // A set operation's branch: its columns in order.
                    if node.node_type == "Subquery Scan"
                        && let Some(alias) = node.alias.filter(|a| a.starts_with("*SELECT* "))
                        && let Some(Expr {
                            kind: Kind::Var { qual: Some(q), .. },
                            ..
                        }) = parse(text)
                        && q == alias
                    {
                        return match node.inputs().next() {
                            Some(source) => self.output(source, i, prop, depth + 1),
                            None => false,
                        };
                    }
                    self.text(node, text, prop, depth + 1)
                }
                None => false,
            },
            // Append and friends: a column has `prop` only if it has it in every member.
            None if node.is_append() => {
                let mut any = false;
                for member in node.inputs() {
                    any = true;
                    if !self.output(member, i, prop, depth + 1) {
                        return false;
                    }
                }
                any
            }
            None => false,
        }
    }

    /// Column `i` of an `INTERSECT`: whether either side proves `prop`. The sides are
    /// the members of the one `Append` below it (PostgreSQL < 18, which adds a flag
    /// column) or its two inputs (18+); either way column `i` is each side's column `i`.
    fn either_side(&self, node: &Node<'p>, i: usize, prop: Prop, depth: u32) -> bool {
        let inputs: Vec<&Node<'p>> = node.inputs().collect();
        let sides: Vec<&Node<'p>> = match inputs.as_slice() {
            [append] if append.is_append() => append.inputs().collect(),
            [_, _] => inputs,
            _ => return false,
        };
        sides.len() == 2
            && sides.iter().any(|side| {
                side.effective_output().is_some_and(|o| i < o.len())
                    && self.output(side, i, prop, depth + 1)
            })
    }

    /// Whether expression `text`, evaluated at `node`, certainly has `prop`.
    fn text(&self, node: &Node<'p>, text: &str, prop: Prop, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        if let Some(found) = self.lookup(node, text, prop, depth) {
            return found;
        }
        let Some(expr) = parse(text) else {
            return false;
        };
        self.expr(node, &expr, text, prop, depth)
    }

    /// A reference to something an input of `node` produces: `Some(verdict)` if
    /// `text` (or `text` without its outer parentheses) is one of an input's outputs.
    fn lookup(&self, node: &Node<'p>, text: &str, prop: Prop, depth: u32) -> Option<bool> {
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
                if prop == Prop::Elements {
                    // NULL-extension and grouping sets make whole values NULL, not elements.
                    return Some(self.output(child, i, prop, depth + 1));
                }
                if node.nulls_child(child) || node.grouping_sets {
                    return Some(false);
                }
                return Some(self.output(child, i, prop, depth + 1));
            }
        }
        None
    }

    fn sub(&self, node: &Node<'p>, e: &Expr, src: &str, prop: Prop, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let text = src.get(e.span.0..e.span.1).unwrap_or("");
        if let Some(found) = self.lookup(node, text, prop, depth) {
            return found;
        }
        self.expr(node, e, src, prop, depth + 1)
    }

    fn all(&self, node: &Node<'p>, args: &[Expr], src: &str, prop: Prop, depth: u32) -> bool {
        args.iter().all(|a| self.sub(node, a, src, prop, depth + 1))
    }

    /// Non-null and without NULL elements.
    fn solid(&self, node: &Node<'p>, e: &Expr, src: &str, depth: u32) -> bool {
        self.sub(node, e, src, Prop::Value, depth) && self.sub(node, e, src, Prop::Elements, depth)
    }

    fn expr(&self, node: &Node<'p>, e: &Expr, src: &str, prop: Prop, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let value = prop == Prop::Value;
        match &e.kind {
            Kind::Null => !value,
            Kind::Unknown => false,
            Kind::Const => true,
            // An array literal may spell a NULL element.
            Kind::Str => {
                value
                    || !src
                        .get(e.span.0..e.span.1)
                        .unwrap_or("")
                        .to_ascii_lowercase()
                        .contains("null")
            }
            Kind::Param(n) => {
                // Up to PostgreSQL 16 an InitPlan's value is `$n` too: a number that may
                // also be a statement parameter (bound to NULL, perhaps) proves nothing.
                let statement_param = *n >= 1 && (*n as usize) <= self.context.params;
                match self.params.get(n) {
                    _ if statement_param => false,
                    // An EXISTS initplan has no output list: true or false, never NULL.
                    Some((plan, _)) if plan.output.is_none() && !plan.is_append() => true,
                    Some((plan, column)) => self.scalar_subplan(plan, *column, prop, depth),
                    None => false,
                }
            }
            Kind::Paren(inner) | Kind::Cast(inner) => self.sub(node, inner, src, prop, depth),
            Kind::Var { qual, name } => self.var(node, qual.as_deref(), name, prop, depth),
            Kind::Op { op, args } => {
                if !value {
                    // `array || NULL::text` appends a NULL element.
                    return false;
                }
                let op = op.to_ascii_lowercase();
                if !STRICT_OPERATORS.contains(&op.as_str()) {
                    return false;
                }
                // A row compared with a row is NULL when a field decides it and is NULL.
                args.iter().all(|a| match &strip(a).kind {
                    Kind::Row(fields) => self.all(node, fields, src, prop, depth),
                    _ => self.sub(node, a, src, prop, depth + 1),
                })
            }
            Kind::NonNullTest => true,
            Kind::Case { results, has_else } => {
                (*has_else || !value) && self.all(node, results, src, prop, depth)
            }
            Kind::Array(items) => {
                value || items.iter().all(|i| self.solid(node, i, src, depth + 1))
            }
            Kind::Row(_) => true,
            Kind::ArraySub { name } => match self.subplans.get(name.as_str()) {
                _ if value => true,
                Some(plan) => self.output(plan, 0, Prop::Value, depth + 1),
                None => false,
            },
            Kind::SubPlan {
                name,
                hashed,
                column,
            } => match self.subplans.get(name.as_str()) {
                // An EXISTS subplan has no output list: true or false, never NULL.
                Some(plan) if plan.output.is_none() && !plan.is_append() => true,
                Some(_) if *hashed => !value,
                // Up to PostgreSQL 16, `x IN (SELECT ...)` prints as a bare `(SubPlan n)`,
                // as does `ARRAY(SELECT ...)`.
                Some(_)
                    if self.context.server_major < 17
                        && self.context.aliases.quantified_sublinks =>
                {
                    !value
                }
                Some(plan) if self.context.server_major < 17 && !value => {
                    self.scalar_subplan(plan, *column, Prop::Value, depth)
                        && self.scalar_subplan(plan, *column, Prop::Elements, depth)
                }
                Some(plan) => self.scalar_subplan(plan, *column, prop, depth),
                None => false,
            },
            Kind::Func {
                name,
                args,
                star,
                filter,
                over,
                known_args,
            } => {
                let call = Call {
                    name,
                    args,
                    star: *star,
                    filter: *filter,
                    over: *over,
                    known_args: *known_args,
                };
                if value {
                    self.func_non_null(node, &call, src, depth)
                } else {
                    self.func_elements(node, &call, src, depth)
                }
            }
        }
    }

    /// A scalar subquery: non-null when it always returns one row whose value is non-null.
    fn scalar_subplan(&self, plan: &Node<'p>, column: usize, prop: Prop, depth: u32) -> bool {
        match prop {
            Prop::Value => plan.returns_one_row() && self.output(plan, column, prop, depth + 1),
            Prop::Elements => self.output(plan, column, prop, depth + 1),
        }
    }

    /// The unqualified name of a built-in function, or `None` for another schema's.
    fn builtin_name(&self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let bare = match lower.split_once('.') {
            None => lower.clone(),
            Some(("pg_catalog", rest)) if !rest.contains('.') => rest.to_owned(),
            Some(_) => return None,
        };
        self.catalog.builtin_function(&bare).then_some(bare)
    }

    fn func_non_null(&self, node: &Node<'p>, call: &Call<'_>, src: &str, depth: u32) -> bool {
        let Some(name) = self.builtin_name(call.name) else {
            return false;
        };
        let name = name.as_str();
        let (args, known_args) = (call.args, call.known_args);
        let prop = Prop::Value;
        if name == "count" {
            return true; // also with FILTER, DISTINCT, OVER
        }
        if call.over {
            return match name {
                "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => true,
                "ntile" => known_args && self.all(node, args, src, prop, depth),
                _ => false,
            };
        }
        let grouped = node.node_type == "Aggregate"
            && matches!(node.strategy, Some("Sorted" | "Hashed"))
            && !node.grouping_sets;
        if AGGREGATES.contains(&name) {
            if call.filter || !known_args || !grouped {
                return false;
            }
            return match name {
                "array_agg" | "json_agg" | "jsonb_agg" | "json_object_agg" | "jsonb_object_agg" => {
                    true
                }
                "string_agg" => args
                    .first()
                    .is_some_and(|a| self.sub(node, a, src, prop, depth)),
                _ => self.all(node, args, src, prop, depth),
            };
        }
        if !known_args {
            return false;
        }
        match name {
            "coalesce" | "greatest" | "least" => {
                args.iter().any(|a| self.sub(node, a, src, prop, depth))
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
            | "num_nulls"
            | "num_nonnulls"
            | "pg_typeof" => true,
            "concat_ws" => args
                .first()
                .is_some_and(|a| self.sub(node, a, src, prop, depth)),
            // Set-returning: no row for NULL bounds, never a NULL row (alone in a
            // select list: side by side with another, `output` says nullable).
            "generate_series" | "generate_subscripts" => true,
            _ if STRICT_FUNCTIONS.contains(&name) => {
                !call.star && self.all(node, args, src, prop, depth)
            }
            _ => false,
        }
    }

    /// Whether a call's result (an array) certainly holds no NULL element.
    fn func_elements(&self, node: &Node<'p>, call: &Call<'_>, src: &str, depth: u32) -> bool {
        let Some(name) = self.builtin_name(call.name) else {
            return false;
        };
        if !call.known_args {
            return false;
        }
        let args = call.args;
        match name.as_str() {
            // Collects its input as it is, NULLs included.
            "array_agg" => args.len() == 1 && self.solid(node, &args[0], src, depth),
            // Without a third argument (the string that means NULL) no element is NULL.
            "string_to_array" => args.len() == 2,
            "coalesce" | "greatest" | "least" => self.all(node, args, src, Prop::Elements, depth),
            // Functions whose result is not an array: vacuously true.
            "count" | "sum" | "avg" | "string_agg" | "bool_and" | "bool_or" | "every"
            | "json_agg" | "jsonb_agg" | "row_number" | "rank" | "dense_rank" | "now"
            | "concat" | "concat_ws" => true,
            n if STRICT_FUNCTIONS.contains(&n) => true,
            _ => false,
        }
    }

    /// A column reference `qual.name` (or bare `name`) at `node`.
    fn var(&self, node: &Node<'p>, qual: Option<&str>, name: &str, prop: Prop, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let alias_matches = |n: &Node<'_>| match qual {
            None => true,
            Some(q) => n.alias == Some(q),
        };
        let table_column = |relation: Option<(&str, &str)>| {
            let Some((schema, table)) = relation else {
                return false;
            };
            match prop {
                Prop::Value => self.catalog.not_null(schema, table, name).unwrap_or(false),
                Prop::Elements => self.catalog.elements_not_null(schema, table, name),
            }
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
                if missing && prop == Prop::Value {
                    return false;
                }
                return table_column(node.relation);
            }
            if alias_matches(node) && node.relation.is_some() {
                return table_column(node.relation);
            }
        } else if node.relation.is_some() {
            return alias_matches(node) && table_column(node.relation);
        }
        match node.node_type {
            "Subquery Scan" if alias_matches(node) => {
                let (Some(source), Some(alias)) = (node.inputs().next(), node.alias) else {
                    return false;
                };
                self.positional(source, alias, name, prop, depth)
            }
            "CTE Scan" if alias_matches(node) => {
                let (Some(cte), Some(alias)) = (node.cte_name, node.alias) else {
                    return false;
                };
                let Some(source) = self.subplans.get(&format!("CTE {cte}")) else {
                    return false;
                };
                // `FROM cte AS t(a, b)` renames the CTE's first columns, in order.
                if alias != cte && self.context.aliases.renamed(alias) {
                    return match self
                        .context
                        .aliases
                        .renamed_position(alias, name, &self.aliases)
                    {
                        Some(i) => self.output(source, i, prop, depth + 1),
                        None => false,
                    };
                }
                self.positional(source, cte, name, prop, depth)
            }
            "Function Scan" if alias_matches(node) => {
                matches!(
                    node.function_name,
                    Some("generate_series" | "generate_subscripts")
                ) && node
                    .function_name
                    .is_some_and(|f| self.catalog.builtin_function(f))
            }
            _ => {
                // A reference the lookup did not find as a whole: try the qualified and
                // bare spellings against the inputs.
                let spelled = match qual {
                    Some(q) => format!("{}.{}", quote_ident(q), quote_ident(name)),
                    None => quote_ident(name),
                };
                self.lookup(node, &spelled, prop, depth).unwrap_or(false)
            }
        }
    }

    /// Column `name` of the subquery or CTE `alias` whose plan is `source`: the
    /// output at the position the query's text gives it.
    fn positional(
        &self,
        source: &Node<'p>,
        alias: &str,
        name: &str,
        prop: Prop,
        depth: u32,
    ) -> bool {
        match self.context.aliases.position(alias, name, &self.aliases) {
            Some(i) => self.output(source, i, prop, depth + 1),
            None => false,
        }
    }
}

/// A function call's parts.
struct Call<'e> {
    name: &'e str,
    args: &'e [Expr],
    star: bool,
    filter: bool,
    over: bool,
    known_args: bool,
}

/// The expression inside any parentheses.
fn strip(e: &Expr) -> &Expr {
    match &e.kind {
        Kind::Paren(inner) => strip(inner),
        _ => e,
    }
}

/// Whether an output expression calls a function (or cannot be read).
fn calls_function(text: &str) -> bool {
    fn walk(e: &Expr) -> bool {
        match &e.kind {
            Kind::Func { .. } | Kind::Unknown => true,
            Kind::Paren(i) | Kind::Cast(i) => walk(i),
            Kind::Op { args, .. } => args.iter().any(walk),
            Kind::Case { results, .. } => results.iter().any(walk),
            Kind::Array(items) | Kind::Row(items) => items.iter().any(walk),
            _ => false,
        }
    }
    parse(text).is_none_or(|e| walk(&e))
}

/// Operators that return NULL only for a NULL input (on the built-in types they
/// are used with).
const STRICT_OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "^", "||", "=", "<>", "!=", "<", ">", "<=", ">=", "~~", "!~~", "~~*",
    "!~~*", "~", "!~", "~*", "!~*", "@", "|", "&", "#", "<<", ">>", "and", "or", "not", "|/",
    "||/",
];

/// The other functions the rules know by name (each must be the built-in one).
pub(crate) const OTHER_FUNCTIONS: &[&str] = &[
    "count",
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "concat",
    "concat_ws",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "now",
    "gen_random_uuid",
    "random",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "num_nulls",
    "num_nonnulls",
    "pg_typeof",
    "generate_series",
    "generate_subscripts",
    "string_to_array",
    "coalesce",
    "greatest",
    "least",
];

/// Aggregates that are non-null over a non-empty group of non-null inputs.
pub(crate) const AGGREGATES: &[&str] = &[
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

/// Functions that return NULL only for a NULL argument: their C code (PostgreSQL
/// 13-18, `src/backend/utils/adt/`) never returns NULL, and the catalog must
/// say every built-in one of the name is strict (`Catalog::builtin_function`).
/// Name-alike functions that do return NULL for some non-NULL input stay off:
/// `to_char(x, '')`, `date_part`/`extract` of an infinite timestamp,
/// `regexp_match`, `array_position`, `NULLIF`, `->`/`->>`, ...
pub(crate) const STRICT_FUNCTIONS: &[&str] = &[
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
    "age",
    "timezone",
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
    /// A literal that is not a string, or a keyword value (`true`, `current_date`).
    Const,
    /// A string literal (perhaps an array spelled `'{a,NULL}'`).
    Str,
    /// `ARRAY[a, b]`.
    Array(Vec<Expr>),
    /// `ROW(a, b)`: never NULL itself, but compared field by field.
    Row(Vec<Expr>),
    /// `ARRAY(SubPlan n)` (PostgreSQL 17+; before, a bare `(SubPlan n)`).
    ArraySub {
        name: String,
    },
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
            Tok::Number => {
                self.pos += 1;
                Kind::Const
            }
            Tok::Str => {
                self.pos += 1;
                Kind::Str
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
                        self.pos += 1;
                        let mut items = Vec::new();
                        if !self.eat(&Tok::RBracket) {
                            loop {
                                items.push(self.expr(depth + 1)?);
                                if self.eat(&Tok::RBracket) {
                                    break;
                                }
                                if !self.eat(&Tok::Comma) {
                                    return None;
                                }
                            }
                        }
                        Kind::Array(items)
                    }
                    "array" if self.peek() == Some(&Tok::LParen) => {
                        self.pos += 1;
                        match self.subplan_ref()? {
                            Some(Kind::SubPlan {
                                name,
                                hashed: false,
                                ..
                            }) if self.eat(&Tok::RParen) => Kind::ArraySub { name },
                            _ => return None,
                        }
                    }
                    "row" if self.peek() == Some(&Tok::LParen) => {
                        self.pos += 1;
                        let mut items = Vec::new();
                        if !self.eat(&Tok::RParen) {
                            loop {
                                items.push(self.expr(depth + 1)?);
                                if self.eat(&Tok::RParen) {
                                    break;
                                }
                                if !self.eat(&Tok::Comma) {
                                    return None;
                                }
                            }
                        }
                        Kind::Row(items)
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

        fn elements_not_null(&self, _schema: &str, _table: &str, _column: &str) -> bool {
            true
        }

        fn builtin_function(&self, _name: &str) -> bool {
            true
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

    fn nullable(v: Vec<Verdict>) -> Vec<bool> {
        v.iter().map(|v| v.nullable).collect()
    }

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
        assert_eq!(
            infer(&p, 1, &CATALOG, &Context::default()).map(nullable),
            Some(vec![false])
        );
        let p = plan(
            r#"[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Left", "Output": ["u.name", "o.total"],
              "Plans": [
                {"Node Type": "Index Scan", "Parent Relationship": "Outer", "Schema": "public",
                 "Relation Name": "users", "Alias": "u", "Output": ["u.id", "u.name"]},
                {"Node Type": "Seq Scan", "Parent Relationship": "Inner", "Schema": "public",
                 "Relation Name": "orders", "Alias": "o", "Output": ["o.id", "o.total"]}]}}]"#,
        );
        assert_eq!(
            infer(&p, 2, &CATALOG, &Context::default()).map(nullable),
            Some(vec![false, true])
        );
    }
}
