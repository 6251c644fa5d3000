//! What a GraphQL document costs, known before anything expands it.
//!
//! async-graphql's own checks (recursion depth, directives, complexity, depth, overlapping
//! fields) walk the document with every fragment spread expanded in place. A few hundred bytes of
//! fragments that each spread the next ten times expand to billions of selections, and those
//! walks run synchronously on the request's thread: the server stalled for minutes and ran out of
//! memory before answering "too complex". So every document passes, in order:
//!
//! 1. [`scan`]: a lexical pass over the text, linear and allocation-free, that bounds the number
//!    of tokens and the bracket nesting before the parser (which recurses) sees the text;
//! 2. the parser;
//! 3. [`analyse`]: one walk of the parsed document in which each fragment's body is measured once
//!    and remembered, so the cost of the expanded document (selections, depth, aliases, nesting,
//!    introspection list nesting) is known in time linear in the document; cycles are refused.
//!
//! Only then does async-graphql validate, over a document whose expanded size is bounded.

use std::collections::HashMap;
use std::fmt;

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{Directive, ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql_value::Value;

/// Bounds on a document; see [`crate::config::Limits`] for the defaults.
#[derive(Clone, Debug)]
pub struct DocumentLimits {
    /// Lexical tokens (names, punctuation, numbers, strings; not comments or commas).
    pub max_tokens: usize,
    /// Brackets (`{`, `[`, `(`) open at once.
    pub max_brackets: usize,
    /// Selections once every fragment spread is replaced by its fragment, counting every
    /// operation and every fragment definition.
    pub max_selections: u64,
    /// async-graphql's complexity limit. Every field costs at least 1, so an operation that
    /// selects more fields than this once expanded is too complex whatever its arguments:
    /// refused here before async-graphql spends time computing it.
    pub max_complexity: u64,
    /// Field depth of an operation.
    pub max_depth: u32,
    /// Field depth of an operation that selects only introspection (`__schema`, `__type`,
    /// `__typename`): the standard introspection query of GraphQL tools nests deeper than any
    /// data query needs.
    pub max_introspection_depth: u32,
    /// Aliased fields of an operation, each fragment counted once per use.
    pub max_aliases: u64,
    /// Operations in one document.
    pub max_operations: usize,
    /// Variables of one operation.
    pub max_variables: usize,
}

/// Selection sets, inline fragments and fragment spreads nested along one path: the same bound
/// as async-graphql's recursion limit, so nothing below recurses deeper.
pub const MAX_NESTING: u32 = 32;

/// Introspection fields returning lists of types or fields (`fields`, `inputFields`,
/// `interfaces`, `possibleTypes`) nested in one another: each level multiplies the answer by the
/// size of the schema. The standard introspection query needs 1; graphql-js's
/// `MaxIntrospectionDepthRule` refuses 3.
pub const MAX_INTROSPECTION_LISTS: u32 = 2;

/// Why a document is refused before validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Which limit, as named in `extensions.limit` (`tokens`, `selections`, ...).
    pub limit: &'static str,
    /// The limit's value.
    pub max: u64,
    /// What the document reached; `None` when counting stopped at the limit.
    pub actual: Option<u64>,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Refusal {
    fn over(limit: &'static str, max: u64, actual: Option<u64>, what: &str) -> Self {
        let message = match actual {
            Some(n) => format!("the document has {n} {what}; at most {max} are allowed"),
            None => format!("the document has more than {max} {what}"),
        };
        Self { limit, max, actual, message }
    }
}

/// Counts tokens and bracket nesting of a document's text without building anything. Stops at
/// the first limit passed, so its time is bounded by the limits, not by the text.
pub fn scan(text: &str, limits: &DocumentLimits) -> Result<(), Refusal> {
    let bytes = text.as_bytes();
    let (mut i, mut tokens, mut open) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            // Ignored: white space, line terminators, commas, the byte-order mark's bytes.
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(Refusal::over("tokens", limits.max_tokens as u64, None, "tokens"));
        }
        match b {
            b'{' | b'[' | b'(' => {
                open += 1;
                if open > limits.max_brackets {
                    return Err(Refusal {
                        limit: "nesting",
                        max: limits.max_brackets as u64,
                        actual: None,
                        message: format!(
                            "the document nests more than {} brackets (`{{`, `[`, `(`) inside one another",
                            limits.max_brackets
                        ),
                    });
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                open = open.saturating_sub(1);
                i += 1;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // Block string: ends at an unescaped `"""`.
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                // A name: [_A-Za-z][_0-9A-Za-z]*, exactly as the parser reads it (a looser rule
                // let `id...X...X` or `0-0-0` count as one token).
                i += 1;
                while i < bytes.len() && matches!(bytes[i], b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9') {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                // A number: -?digits(.digits)?([eE][+-]?digits)?
                let digits = |i: &mut usize| {
                    while *i < bytes.len() && bytes[*i].is_ascii_digit() {
                        *i += 1;
                    }
                };
                i += 1;
                digits(&mut i);
                if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                    i += 1;
                    digits(&mut i);
                }
                if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
                    let mut j = i + 1;
                    if j < bytes.len() && matches!(bytes[j], b'+' | b'-') {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j].is_ascii_digit() {
                        i = j;
                        digits(&mut i);
                    }
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// What the parsed document costs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    /// The type of the operation that would run (`None` when the name matches none, or several
    /// operations and no name: async-graphql reports those).
    pub operation_type: Option<OperationType>,
    /// Expanded selections of the whole document.
    pub selections: u64,
    /// Whether the operation that would run selects only introspection fields.
    pub introspection_only: bool,
    /// Variable references once fragments are expanded, over the whole document: validation
    /// clones a variable's value at each, so their product with the variables' size is bounded
    /// by the HTTP layer, which knows that size.
    pub variable_uses: u64,
    /// The name of the operation that would run, if it has one.
    pub operation_name: Option<String>,
    /// The response keys of the operation's root selection set, in order (fragments expanded).
    /// async-graphql answers the root fields of a merged object grouped by the part that
    /// resolves them; the HTTP layer restores this order, as the GraphQL spec requires.
    pub root_keys: Vec<String>,
}

/// The response keys of a selection set in order of first appearance, fragments expanded (each
/// once; cycles were refused already).
fn response_keys<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    seen: &mut Vec<&'a str>,
    out: &mut Vec<String>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let key = f.node.response_key().node.as_str();
                if !out.iter().any(|k| k == key) {
                    out.push(key.to_owned());
                }
            }
            Selection::InlineFragment(i) => response_keys(doc, &i.node.selection_set.node, seen, out),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                if let Some(def) = doc.fragments.get(name) {
                    response_keys(doc, &def.node.selection_set.node, seen, out);
                }
            }
        }
    }
}

/// Variable bytes times their references (fragments expanded) a document may make validation
/// check: a 1 MiB bulk input referenced once is 1 MiB.
pub const MAX_VARIABLE_WORK: u64 = 64 << 20;

impl Analysis {
    /// The last limit, which needs the variables' size (known to the transport, not here):
    /// validation clones a variable's value at each reference, so a large variable referenced
    /// from a fragment spread thousands of times is refused.
    pub fn check_variables(&self, variables_bytes: usize) -> Result<(), Refusal> {
        let work = self.variable_uses.saturating_mul(variables_bytes as u64);
        if work <= MAX_VARIABLE_WORK {
            return Ok(());
        }
        Err(Refusal {
            limit: "variableUses",
            max: MAX_VARIABLE_WORK,
            actual: Some(work),
            message: format!(
                "the document references its variables {} times once fragments are expanded, with {variables_bytes} \
                 bytes of variables: more than {MAX_VARIABLE_WORK} bytes of variable values to check",
                self.variable_uses
            ),
        })
    }
}

/// The measure of one selection set, fragments expanded.
#[derive(Clone, Copy, Debug, Default)]
struct Cost {
    selections: u64,
    aliases: u64,
    /// Field depth.
    depth: u32,
    /// Selection sets, inline fragments and spreads along the deepest path.
    nesting: u32,
    /// Introspection list fields nested along the deepest such path.
    lists: u32,
    /// Argument and directive values (each list item and object field one), expanded:
    /// validation walks and clones them at every use of their fragment.
    values: u64,
    /// Variable references, expanded: validation clones the variable's value at each.
    variable_uses: u64,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.selections = self.selections.saturating_add(other.selections);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.values = self.values.saturating_add(other.values);
        self.variable_uses = self.variable_uses.saturating_add(other.variable_uses);
        self.depth = self.depth.max(other.depth);
        self.nesting = self.nesting.max(other.nesting);
        self.lists = self.lists.max(other.lists);
    }
}

enum Memo {
    Visiting,
    Done(Cost),
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    memo: HashMap<&'a str, Memo>,
}

fn nesting_refusal() -> Refusal {
    Refusal {
        limit: "nesting",
        max: MAX_NESTING as u64,
        actual: None,
        message: format!("selections, inline fragments and fragment spreads nest more than {MAX_NESTING} deep"),
    }
}

/// Counts the nodes of a value and the variables it references.
fn weigh(value: &Value, values: &mut u64, variables: &mut u64) {
    *values = values.saturating_add(1);
    match value {
        Value::Variable(_) => *variables = variables.saturating_add(1),
        Value::List(items) => items.iter().for_each(|v| weigh(v, values, variables)),
        Value::Object(fields) => fields.values().for_each(|v| weigh(v, values, variables)),
        _ => {}
    }
}

/// The weight of some directives' arguments.
fn weigh_directives(directives: &[Positioned<Directive>], values: &mut u64, variables: &mut u64) {
    for d in directives {
        for (_, v) in &d.node.arguments {
            weigh(&v.node, values, variables);
        }
    }
}

impl<'a> Walker<'a> {
    /// Measures a selection set found `level` sets deep. Recursion is bounded by [`MAX_NESTING`].
    fn set(&mut self, set: &'a SelectionSet, level: u32) -> Result<Cost, Refusal> {
        if level > MAX_NESTING {
            return Err(nesting_refusal());
        }
        let mut total = Cost::default();
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let inner = if field.selection_set.node.items.is_empty() {
                        Cost::default()
                    } else {
                        self.set(&field.selection_set.node, level + 1)?
                    };
                    let list =
                        matches!(field.name.node.as_str(), "fields" | "inputFields" | "interfaces" | "possibleTypes");
                    let (mut values, mut variables) = (inner.values, inner.variable_uses);
                    for (_, v) in &field.arguments {
                        weigh(&v.node, &mut values, &mut variables);
                    }
                    weigh_directives(&field.directives, &mut values, &mut variables);
                    Cost {
                        selections: inner.selections.saturating_add(1),
                        aliases: inner.aliases.saturating_add(u64::from(field.alias.is_some())),
                        depth: inner.depth + 1,
                        nesting: inner.nesting + u32::from(!field.selection_set.node.items.is_empty()),
                        lists: inner.lists + u32::from(list),
                        values,
                        variable_uses: variables,
                    }
                }
                // Spreads and inline fragments are work of their own for async-graphql's walks
                // (a fragment of nothing but spreads expands all the same).
                Selection::InlineFragment(inline) => {
                    let mut c = self.set(&inline.node.selection_set.node, level + 1)?;
                    c.nesting += 1;
                    c.selections = c.selections.saturating_add(1);
                    weigh_directives(&inline.node.directives, &mut c.values, &mut c.variable_uses);
                    c
                }
                Selection::FragmentSpread(spread) => {
                    let mut c = self.fragment(spread.node.fragment_name.node.as_str(), level + 1)?;
                    c.nesting += 1;
                    c.selections = c.selections.saturating_add(1);
                    weigh_directives(&spread.node.directives, &mut c.values, &mut c.variable_uses);
                    c
                }
            };
            if level + cost.nesting > MAX_NESTING {
                return Err(nesting_refusal());
            }
            total.add(cost);
        }
        Ok(total)
    }

    /// Measures a fragment once; later uses read the remembered cost.
    fn fragment(&mut self, name: &'a str, level: u32) -> Result<Cost, Refusal> {
        match self.memo.get(name) {
            Some(Memo::Done(c)) => return Ok(*c),
            Some(Memo::Visiting) => {
                return Err(Refusal {
                    limit: "fragmentCycles",
                    max: 0,
                    actual: None,
                    message: format!("fragment `{name}` spreads itself (directly or through other fragments)"),
                });
            }
            None => {}
        }
        // Refused here, not left to validation: async-graphql's recursion and directive checks
        // run first and expand every spread of it, known or not.
        let Some((key, def)) = self.doc.fragments.get_key_value(name) else {
            return Err(Refusal {
                limit: "knownFragments",
                max: 0,
                actual: None,
                message: format!("unknown fragment `{name}`"),
            });
        };
        let key = key.as_str();
        self.memo.insert(key, Memo::Visiting);
        let cost = self.set(&def.node.selection_set.node, level)?;
        self.memo.insert(key, Memo::Done(cost));
        Ok(cost)
    }
}

/// Measures a parsed document against `limits`, in time linear in its size.
pub fn analyse(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    limits: &DocumentLimits,
) -> Result<Analysis, Refusal> {
    let operations: Vec<_> = doc.operations.iter().collect();
    if operations.len() > limits.max_operations {
        return Err(Refusal::over(
            "operations",
            limits.max_operations as u64,
            Some(operations.len() as u64),
            "operations",
        ));
    }
    let mut walker = Walker { doc, memo: HashMap::with_capacity(doc.fragments.len()) };
    let mut selections: u64 = 0;
    let (mut values, mut variable_uses) = (0u64, 0u64);
    let mut chosen = None;
    // Argument values are bounded like tokens, but counted at every use of their fragment.
    let check_values = |values: u64| {
        if values > limits.max_tokens as u64 {
            Err(Refusal::over(
                "values",
                limits.max_tokens as u64,
                None,
                "argument values once its fragments are expanded",
            ))
        } else {
            Ok(())
        }
    };
    let check_total = |selections: u64| {
        if selections > limits.max_selections {
            Err(Refusal::over("selections", limits.max_selections, None, "selections once its fragments are expanded"))
        } else {
            Ok(())
        }
    };
    for (name, op) in &operations {
        let op = &op.node;
        if op.variable_definitions.len() > limits.max_variables {
            return Err(Refusal::over(
                "variables",
                limits.max_variables as u64,
                Some(op.variable_definitions.len() as u64),
                "variables in one operation",
            ));
        }
        let cost = walker.set(&op.selection_set.node, 1)?;
        if cost.selections > limits.max_complexity {
            return Err(Refusal {
                limit: "complexity",
                max: limits.max_complexity,
                actual: None,
                message: format!(
                    "the operation selects {} fields once its fragments are expanded, more than its complexity limit of {} allows",
                    cost.selections, limits.max_complexity
                ),
            });
        }
        selections = selections.saturating_add(cost.selections);
        check_total(selections)?;
        values = values.saturating_add(cost.values);
        variable_uses = variable_uses.saturating_add(cost.variable_uses);
        check_values(values)?;
        let introspection_only = op.ty == OperationType::Query
            && op.selection_set.node.items.iter().all(|s| match &s.node {
                Selection::Field(f) => f.node.name.node.starts_with("__"),
                _ => false,
            });
        let max_depth = if introspection_only { limits.max_introspection_depth } else { limits.max_depth };
        if cost.depth > max_depth {
            return Err(Refusal {
                limit: "depth",
                max: max_depth.into(),
                actual: Some(cost.depth.into()),
                message: format!("the operation nests fields {} deep; at most {max_depth} are allowed", cost.depth),
            });
        }
        if cost.aliases > limits.max_aliases {
            return Err(Refusal {
                limit: "aliases",
                max: limits.max_aliases,
                actual: Some(cost.aliases),
                message: format!(
                    "the query uses {} aliases (each fragment counted once per use); at most {} are allowed",
                    cost.aliases, limits.max_aliases
                ),
            });
        }
        if cost.lists > MAX_INTROSPECTION_LISTS {
            return Err(Refusal {
                limit: "introspectionLists",
                max: MAX_INTROSPECTION_LISTS.into(),
                actual: Some(cost.lists.into()),
                message: format!(
                    "introspection nests `fields`, `inputFields`, `interfaces` or `possibleTypes` {} deep; at most {MAX_INTROSPECTION_LISTS} are allowed",
                    cost.lists
                ),
            });
        }
        let selected = match (operation_name, name) {
            (Some(wanted), Some(n)) => wanted == n.as_str(),
            (None, _) => operations.len() == 1,
            (Some(_), None) => false,
        };
        if selected {
            let mut keys = Vec::new();
            response_keys(doc, &op.selection_set.node, &mut Vec::new(), &mut keys);
            chosen = Some((op.ty, introspection_only, keys, name.map(|n| n.to_string())));
        }
    }
    // Fragment definitions are validated on their own too (unused ones included), each
    // expanded once.
    for name in doc.fragments.keys() {
        let cost = walker.fragment(name.as_str(), 1)?;
        selections = selections.saturating_add(cost.selections);
        check_total(selections)?;
        values = values.saturating_add(cost.values);
        variable_uses = variable_uses.saturating_add(cost.variable_uses);
        check_values(values)?;
    }
    let (operation_type, introspection_only, root_keys, operation_name) = match chosen {
        Some((t, i, keys, name)) => (Some(t), i, keys, name),
        None => (None, false, Vec::new(), None),
    };
    Ok(Analysis { operation_type, selections, introspection_only, operation_name, root_keys, variable_uses })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DocumentLimits {
        DocumentLimits {
            max_tokens: 1_000,
            max_brackets: 20,
            max_selections: 1_000,
            max_complexity: 600,
            max_depth: 6,
            max_introspection_depth: 12,
            max_aliases: 5,
            max_operations: 3,
            max_variables: 4,
        }
    }

    fn check(query: &str) -> Result<Analysis, Refusal> {
        scan(query, &limits())?;
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        analyse(&doc, None, &limits())
    }

    /// Fragments each spreading the next `fanout` times, `levels` deep.
    fn bomb(levels: usize, fanout: usize) -> String {
        let mut q = String::from("query { viewer { ...F0 } }\n");
        for l in 0..levels {
            let body = if l + 1 == levels {
                "id".to_owned()
            } else {
                std::iter::repeat_n(format!("...F{}", l + 1), fanout).collect::<Vec<_>>().join(" ")
            };
            q.push_str(&format!("fragment F{l} on User {{ {body} }}\n"));
        }
        q
    }

    #[test]
    fn tokens_and_brackets_are_counted_outside_strings_and_comments() {
        assert!(scan("{ a b c }", &limits()).is_ok());
        let many = format!("{{ {} }}", "a ".repeat(999));
        assert_eq!(scan(&many, &limits()).unwrap_err().limit, "tokens");
        // Commas and comments are not tokens; brackets inside strings do not nest.
        let commented = format!("{{ a{} }} # {}", ",".repeat(5_000), "{".repeat(100));
        assert!(scan(&commented, &limits()).is_ok());
        assert!(scan(&format!("{{ a(s: \"{}\") }}", "[".repeat(100)), &limits()).is_ok());
        assert!(scan(&format!("{{ a(s: \"\"\"{}\\\"\"\" \"\"\") }}", "(".repeat(100)), &limits()).is_ok());
        let deep = format!("{}{}", "{a".repeat(21), "}".repeat(21));
        assert_eq!(scan(&deep, &limits()).unwrap_err().limit, "nesting");
        let deep_value = format!("{{ a(x: {}1{}) }}", "[".repeat(30), "]".repeat(30));
        assert_eq!(scan(&deep_value, &limits()).unwrap_err().limit, "nesting");
    }

    #[test]
    fn fragment_bombs_are_measured_without_expanding() {
        // 10^9 expanded selections, measured by visiting each fragment once.
        let q = bomb(10, 10);
        let doc = async_graphql::parser::parse_query(&q).unwrap();
        let big = DocumentLimits { max_tokens: 10_000, max_depth: 100, ..limits() };
        let refusal = analyse(&doc, None, &big).unwrap_err();
        assert_eq!(refusal.limit, "complexity", "{refusal}");
        // Without the complexity shortcut the total is what refuses it.
        let loose = DocumentLimits { max_complexity: u64::MAX, ..big };
        assert_eq!(analyse(&doc, None, &loose).unwrap_err().limit, "selections");
        // A small one passes, with its expansion counted exactly: viewer + 3^2 ids.
        let q = bomb(3, 3);
        let a = check(&q).unwrap();
        // Spreads count as work too: F2 = 1 field; F1 = 3 x (spread + F2) = 6; F0 = 3 x (1 + 6) =
        // 21; the operation = viewer + spread + F0 = 23; then F0, F1, F2 on their own.
        assert_eq!(a.selections, 23 + (21 + 6 + 1), "operation, then the fragments on their own");
        assert_eq!(a.operation_type, Some(OperationType::Query));
    }

    #[test]
    fn unknown_fragments_literals_and_variables_are_weighed_through_expansion() {
        // A bomb of unknown spreads costs nothing in fields but is refused before async-graphql
        // would walk it.
        let unknown = "{ viewer { ...F1 } } fragment F0 on User { ...X ...X } fragment F1 on User { ...F0 ...F0 }";
        assert_eq!(check(unknown).unwrap_err().limit, "knownFragments");
        // A literal list used through a fragment many times.
        let list = format!("[{}]", vec!["1"; 100].join(","));
        let q = format!(
            "{{ ...G }} fragment F on Query {{ a(x: {list}) }} fragment G on Query {{ {} }}",
            "...F ".repeat(12)
        );
        assert_eq!(check(&q).unwrap_err().limit, "values");
        // Variable uses are counted through expansion for the HTTP layer.
        let q = "query($v: Int) { ...G } fragment F on Query { a(x: $v) b(y: [$v, $v]) } fragment G on Query { ...F ...F ...F }";
        let analysis = check(q).unwrap();
        assert_eq!(analysis.variable_uses, 9 + 3 + 9, "the operation (3 x 3), F (3), G (9)");
        assert!(analysis.check_variables(1 << 20).is_ok(), "21 uses of 1 MiB");
        assert_eq!(analysis.check_variables(4 << 20).unwrap_err().limit, "variableUses");
        // Numbers and names are lexed as the parser reads them.
        let packed = format!("{{ a(x: [{}]) }}", "0-".repeat(1_200));
        assert_eq!(scan(&packed, &limits()).unwrap_err().limit, "tokens");
        let spreads = format!("{{ id{} }}", "...X".repeat(600));
        assert_eq!(scan(&spreads, &limits()).unwrap_err().limit, "tokens");
        assert!(scan("{ a(x: -1.5e+10, y: 3) }", &limits()).is_ok());
    }

    #[test]
    fn cycles_depth_aliases_and_counts_are_refused() {
        let cycle = "{ viewer { ...A } } fragment A on User { ...B } fragment B on User { id ...A }";
        assert_eq!(check(cycle).unwrap_err().limit, "fragmentCycles");
        let selfish = "{ viewer { ...A } } fragment A on User { ...A }";
        assert_eq!(check(selfish).unwrap_err().limit, "fragmentCycles");
        // Depth counts through fragments.
        let deep = "{ a { ...F } } fragment F on T { b { c { d { e { f { g } } } } } }";
        assert_eq!(check(deep).unwrap_err().limit, "depth");
        assert!(check("{ a { ...F } } fragment F on T { b { c { d { e { f } } } } }").is_ok());
        // Aliases count once per use of the fragment.
        let aliases = "{ v { ...F ...F ...F } } fragment F on T { x: id y: id }";
        let r = check(aliases).unwrap_err();
        assert_eq!((r.limit, r.actual), ("aliases", Some(6)));
        let ops = "query A { a } query B { a } query C { a } query D { a }";
        assert_eq!(check(ops).unwrap_err().limit, "operations");
        let vars = "query($a: Int, $b: Int, $c: Int, $d: Int, $e: Int) { a }";
        assert_eq!(check(vars).unwrap_err().limit, "variables");
    }

    #[test]
    fn introspection_has_its_own_depth_and_list_nesting() {
        let nested =
            |n: usize| format!("{{ __schema {{ types {{ {}name{} }} }} }}", "ofType { ".repeat(n), " }".repeat(n));
        assert!(check(&nested(9)).unwrap().introspection_only, "depth 12 passes for introspection");
        assert_eq!(check(&nested(10)).unwrap_err().limit, "depth");
        // A data query gets the ordinary depth.
        assert_eq!(check(&format!("{{ a {}b{} }}", "c { ".repeat(6), " }".repeat(6))).unwrap_err().limit, "depth");
        let lists = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        assert_eq!(check(lists).unwrap_err().limit, "introspectionLists");
        assert!(check("{ __schema { types { fields { type { fields { name } } } } } }").is_ok());
        assert!(!check("{ __typename viewer { id } }").unwrap().introspection_only);
    }

    #[test]
    fn the_selected_operation_decides_the_type() {
        let doc = async_graphql::parser::parse_query("query A { a } mutation B { b }").unwrap();
        assert_eq!(analyse(&doc, Some("B"), &limits()).unwrap().operation_type, Some(OperationType::Mutation));
        assert_eq!(analyse(&doc, None, &limits()).unwrap().operation_type, None);
        assert_eq!(analyse(&doc, Some("C"), &limits()).unwrap().operation_type, None);
    }
}
