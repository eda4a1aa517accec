//! Nuxt 3's `__NUXT_DATA__` payload: one flat JSON array (the `devalue` format) in which element 0 is the
//! root and every array element and object value is the index of another element. `["Reactive", i]`,
//! `["ShallowReactive", i]`, `["Ref", i]`, `["ShallowRef", i]` wrap element `i`; `["Date", "..."]` is a
//! date; `["Set", i...]`, `["Map", k, v...]` and `["null", key, i...]` are collections; negative indices
//! are `undefined`, holes and non-finite numbers.
//!
//! [`resolve`] rebuilds the tree, bounded: elements may be shared (and a hostile payload can make a tree
//! exponentially larger than its array), so the rebuild stops at [`MAX_NODES`] values, [`MAX_STRING_BYTES`]
//! bytes of strings and [`MAX_DEPTH`] levels; what lies beyond is `null`.

use serde_json::{Map, Value};

pub(crate) const MAX_NODES: usize = 500_000;
pub(crate) const MAX_STRING_BYTES: usize = 16 * 1024 * 1024;
pub(crate) const MAX_DEPTH: usize = 64;

struct Resolver<'a> {
    items: &'a [Value],
    nodes: usize,
    string_bytes: usize,
}

/// The tree of a `__NUXT_DATA__` array; `None` when it is not one.
pub(crate) fn resolve(payload: &Value) -> Option<Value> {
    let Value::Array(items) = payload else { return None };
    if items.is_empty() {
        return None;
    }
    let mut r = Resolver { items, nodes: 0, string_bytes: 0 };
    Some(r.index(0, 0))
}

impl Resolver<'_> {
    fn exhausted(&self) -> bool {
        self.nodes >= MAX_NODES || self.string_bytes >= MAX_STRING_BYTES
    }

    /// The value at an index given as a JSON number.
    fn reference(&mut self, v: &Value, depth: usize) -> Value {
        match v.as_i64() {
            Some(i) if i >= 0 => self.index(i as usize, depth),
            _ => Value::Null,
        }
    }

    fn index(&mut self, i: usize, depth: usize) -> Value {
        self.nodes += 1;
        if depth > MAX_DEPTH || self.exhausted() {
            return Value::Null;
        }
        let Some(item) = self.items.get(i) else { return Value::Null };
        match item {
            Value::String(s) => {
                self.string_bytes += s.len();
                Value::String(s.clone())
            }
            Value::Array(a) => match a.first() {
                Some(Value::String(kind)) => self.typed(kind, &a[1..], depth),
                _ => {
                    let mut out = Vec::with_capacity(a.len().min(1024));
                    for x in a {
                        if self.exhausted() {
                            break;
                        }
                        out.push(self.reference(x, depth + 1));
                    }
                    Value::Array(out)
                }
            },
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    if self.exhausted() {
                        break;
                    }
                    let v = self.reference(x, depth + 1);
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn typed(&mut self, kind: &str, args: &[Value], depth: usize) -> Value {
        match kind {
            "Reactive" | "ShallowReactive" | "Ref" | "ShallowRef" | "Object" => {
                args.first().map_or(Value::Null, |x| self.reference(x, depth + 1))
            }
            "Date" => args.first().cloned().unwrap_or(Value::Null),
            "Set" => {
                let mut out = Vec::new();
                for x in args {
                    if self.exhausted() {
                        break;
                    }
                    out.push(self.reference(x, depth + 1));
                }
                Value::Array(out)
            }
            "Map" | "null" => {
                let mut out = Map::new();
                for pair in args.chunks(2) {
                    if self.exhausted() {
                        break;
                    }
                    let [k, v] = pair else { break };
                    // A Map's keys are indices too; a null-prototype object's keys are written out.
                    let key = if kind == "Map" { self.reference(k, depth + 1) } else { k.clone() };
                    if let Value::String(key) = key {
                        let v = self.reference(v, depth + 1);
                        out.insert(key, v);
                    }
                }
                Value::Object(out)
            }
            _ => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flattened_payload_resolves_into_its_tree() {
        let payload: Value = serde_json::from_str(
            r#"[["ShallowReactive",1],{"data":2,"n":-1},["ShallowReactive",3],{"story":4},{"title":5,"tags":6},"A title",[5,5]]"#,
        )
        .unwrap_or_default();
        let tree = resolve(&payload).unwrap_or_default();
        assert_eq!(tree["data"]["story"]["title"], "A title");
        assert_eq!(tree["data"]["story"]["tags"][1], "A title");
        assert_eq!(tree["n"], Value::Null);
    }

    #[test]
    fn a_payload_that_doubles_at_each_level_stops_at_its_bounds() {
        // Element i is [i+1, i+1]: a tree of 2^200 nodes from 200 elements.
        let mut items: Vec<Value> = (1..200).map(|i| serde_json::json!([i, i])).collect();
        items.push(Value::String("leaf".into()));
        let started = std::time::Instant::now();
        let tree = resolve(&Value::Array(items));
        assert!(tree.is_some());
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
