//! The modules of `src/` form layers: no module reaches, through `crate::` paths, a module that
//! reaches back to it. A new import cycle fails here, naming the modules around it.
//!
//! The graph is read from the sources (every `crate::<module>` path outside comments, `use
//! crate::{a, b}` groups included), at the granularity of `src/`'s top-level modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The top-level module each source file belongs to: `src/route/filter.rs` is `route`.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_owned()
}

/// The modules `source` names with `crate::`.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code: Vec<&str> = source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect();
    let code = code.join("\n");
    {
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `use crate::{a::X, b}`: the first segment of each item at the group's top level.
                let mut depth = 0;
                let mut item_start = true;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_alphanumeric() || c == '_') => item.push(c),
                        c if item_start && c.is_whitespace() && item.is_empty() => {}
                        _ if item_start && !item.is_empty() => {
                            found.insert(std::mem::take(&mut item));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
                if !item.is_empty() {
                    found.insert(item);
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
            rest = after;
        }
    }
    found
}

fn graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap();
            let module = module_of(relative);
            if module == "lib" || module == "main" {
                continue;
            }
            let uses = crate_paths(&std::fs::read_to_string(&path).unwrap());
            let edges = graph.entry(module.clone()).or_default();
            edges.extend(uses.into_iter().filter(|m| *m != module));
        }
    }
    graph
}

/// A cycle, as the modules along it (the first repeated at the end), if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

/// The modules bottom-up: each after everything it uses.
fn layers(graph: &Graph) -> Vec<Vec<String>> {
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut layers = Vec::new();
    while placed.len() < graph.len() {
        let layer: Vec<String> = graph
            .iter()
            .filter(|(m, uses)| {
                !placed.contains(*m)
                    && uses
                        .iter()
                        .all(|u| placed.contains(u) || !graph.contains_key(u))
            })
            .map(|(m, _)| m.clone())
            .collect();
        assert!(!layer.is_empty(), "no layer can be placed: a cycle");
        placed.extend(layer.iter().cloned());
        layers.push(layer);
    }
    layers
}

#[test]
fn src_modules_have_no_import_cycle() {
    let graph = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() > 10, "read too few modules: {graph:?}");
    if let Some(cycle) = cycle(&graph) {
        panic!("src/ has an import cycle: {}", cycle.join(" -> "));
    }
    // `cargo test --test layers -- --nocapture` prints the layers, bottom first.
    for (n, layer) in layers(&graph).iter().enumerate() {
        println!("{}: {}", n + 1, layer.join(", "));
    }
}

#[test]
fn the_check_finds_a_cycle_through_a_use_group() {
    let sources = [
        ("a", "use crate::{b::X, c};"),
        ("b", "fn f() { crate::c::g() } // crate::a::h in a comment"),
        ("c", "use crate::{\n    a::{Y, Z},\n};"),
    ];
    let graph: Graph = sources
        .iter()
        .map(|(m, s)| (m.to_string(), crate_paths(s)))
        .collect();
    assert_eq!(graph["a"], BTreeSet::from(["b".into(), "c".into()]));
    assert_eq!(graph["b"], BTreeSet::from(["c".into()]));
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let acyclic: Graph = [("a", "use crate::b;"), ("b", "")]
        .iter()
        .map(|(m, s)| (m.to_string(), crate_paths(s)))
        .collect();
    assert_eq!(cycle(&acyclic), None);
    assert_eq!(
        layers(&acyclic),
        [vec!["b".to_owned()], vec!["a".to_owned()]]
    );
}
