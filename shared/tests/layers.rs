//! The crate's structure, checked from its source: every `crate::`,
//! `super::` and `self::` path (in `use` trees, in code, in macro calls)
//! resolved to the module it names. Two rules, each failure naming the
//! file and the import:
//!
//! 1. Layers. Each top-level module has a layer; a module imports only
//!    layers strictly below its own (so two ports of one layer never
//!    import each other). A new top-level module fails until it is given
//!    a layer here, in the README's diagram's order.
//! 2. No cycles among the modules of one parent (the top-level modules of
//!    the crate, the files of `service/`, the adapters of `store/`…). An
//!    import between a module and its own ancestor is not such an edge: a
//!    port's adapters implement the traits of the module above them, and
//!    the port's factory opens them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Top to bottom. Equal numbers: one layer, whose modules may not import
/// each other.
const LAYERS: &[(&str, u8)] = &[
    ("api", 9),
    ("service", 8),
    ("app", 7),
    ("error", 6),
    ("store", 5),
    ("github", 5),
    ("events", 5),
    ("secrets", 4),
    ("clock", 3),
    ("config", 2),
    ("domain", 1),
    ("aws_bounds", 1),
    ("crypto", 0),
    ("deadline", 0),
    ("telemetry", 0),
];

type Module = Vec<String>;

struct Import {
    file: PathBuf,
    path: String,
    target: Module,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file with the module path it defines (`lib.rs` is `[]`).
fn files(dir: &Path, module: &Module, out: &mut Vec<(PathBuf, Module)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut inner = module.clone();
            inner.push(name);
            files(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut own = module.clone();
            if !(name == "mod" || (module.is_empty() && name == "lib")) {
                own.push(name);
            }
            out.push((path, own));
        }
    }
}

/// The paths a file writes: each `use` tree flattened, each path in code,
/// and `crate::…` sequences inside macro calls (which syn leaves as tokens).
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl Paths {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push_with(prefix, &n.ident.to_string()),
            syn::UseTree::Rename(r) => self.push_with(prefix, &r.ident.to_string()),
            syn::UseTree::Glob(_) => self.0.push(prefix.clone()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t)),
        }
    }

    fn push_with(&mut self, prefix: &[String], last: &str) {
        let mut path = prefix.to_vec();
        if last != "self" {
            path.push(last.to_owned());
        }
        self.0.push(path);
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.0.push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let tokens: Vec<String> = mac.tokens.to_string().split_whitespace().map(str::to_owned).collect();
        for (i, token) in tokens.iter().enumerate() {
            if token == "crate" && tokens.get(i + 1).is_some_and(|t| t == "::") {
                let mut path = vec!["crate".to_owned()];
                let mut j = i + 2;
                while let Some(ident) = tokens
                    .get(j)
                    .filter(|t| t.chars().all(|c| c.is_alphanumeric() || c == '_'))
                {
                    path.push(ident.clone());
                    if tokens.get(j + 1).is_none_or(|t| t != "::") {
                        break;
                    }
                    j += 2;
                }
                self.0.push(path);
            }
        }
        syn::visit::visit_macro(self, mac);
    }
}

/// The module `path` (written in module `from`) names: the longest prefix
/// that is a module, after `crate`, `super` and `self`; root re-exports
/// (`crate::App`) resolve to the module they come from.
fn resolve(
    path: &[String],
    from: &Module,
    modules: &BTreeSet<Module>,
    reexports: &BTreeMap<String, String>,
) -> Option<Module> {
    let mut absolute: Module = match path.first()?.as_str() {
        "crate" => Vec::new(),
        "super" | "self" => from.clone(),
        _ => return None,
    };
    let mut rest = &path[1..];
    if path[0] == "super" {
        absolute.pop();
        while rest.first().is_some_and(|s| s == "super") {
            absolute.pop();
            rest = &rest[1..];
        }
    }
    if absolute.is_empty() {
        if let Some(module) = rest.first().and_then(|name| reexports.get(name)) {
            return Some(vec![module.clone()]);
        }
    }
    for segment in rest {
        absolute.push(segment.clone());
        if !modules.contains(&absolute) {
            absolute.pop();
            break;
        }
    }
    Some(absolute)
}

fn imports() -> (Vec<(PathBuf, Module)>, Vec<Import>) {
    let mut all = Vec::new();
    files(&src(), &Vec::new(), &mut all);
    let modules: BTreeSet<Module> = all.iter().map(|(_, m)| m.clone()).collect();
    // `pub use app::App;` at the root: `crate::App` is app's.
    let lib = syn::parse_file(&std::fs::read_to_string(src().join("lib.rs")).unwrap()).unwrap();
    let mut reexports = BTreeMap::new();
    for item in &lib.items {
        if let syn::Item::Use(u) = item {
            let mut paths = Paths::default();
            paths.use_tree(&mut Vec::new(), &u.tree);
            for p in paths.0 {
                if let (Some(first), Some(last)) = (p.first(), p.last()) {
                    reexports.insert(last.clone(), first.clone());
                }
            }
        }
    }
    let mut found = Vec::new();
    for (file, module) in &all {
        let text = std::fs::read_to_string(file).unwrap();
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut paths = Paths::default();
        paths.visit_file(&parsed);
        for path in paths.0 {
            if let Some(target) = resolve(&path, module, &modules, &reexports) {
                found.push(Import {
                    file: file.clone(),
                    path: path.join("::"),
                    target,
                });
            }
        }
    }
    (all, found)
}

fn shown(file: &Path) -> String {
    file.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap())
        .unwrap_or(file)
        .display()
        .to_string()
}

fn layer(top: &str) -> Option<u8> {
    LAYERS.iter().find(|(name, _)| *name == top).map(|(_, n)| *n)
}

fn module_of<'a>(files: &'a [(PathBuf, Module)], file: &Path) -> &'a Module {
    &files.iter().find(|(f, _)| f == file).unwrap().1
}

/// Every breach of rule 1, as `file: import (why)`.
fn layering_breaches(files: &[(PathBuf, Module)], imports: &[Import]) -> Vec<String> {
    let mut breaches = BTreeSet::new();
    for (file, module) in files {
        if let Some(top) = module.first() {
            if layer(top).is_none() {
                breaches.insert(format!(
                    "{}: module `{top}` has no layer in tests/layers.rs",
                    shown(file)
                ));
            }
        }
    }
    for import in imports {
        let from = module_of(files, &import.file);
        let (Some(a), Some(b)) = (from.first(), import.target.first()) else {
            continue;
        };
        if a == b {
            continue;
        }
        if let (Some(la), Some(lb)) = (layer(a), layer(b)) {
            if la <= lb {
                breaches.insert(format!(
                    "{}: {} (`{a}`, layer {la}, may only import layers below it; `{b}` is layer {lb})",
                    shown(&import.file),
                    import.path
                ));
            }
        }
    }
    breaches.into_iter().collect()
}

/// Every cycle of rule 2, each with the imports that close it.
fn cycles(files: &[(PathBuf, Module)], imports: &[Import]) -> Vec<String> {
    // parent → (child → child it imports → the imports that do it)
    type Edges = BTreeMap<String, BTreeMap<String, Vec<String>>>;
    let mut graphs: BTreeMap<Module, Edges> = BTreeMap::new();
    for import in imports {
        let from = module_of(files, &import.file);
        let common = from.iter().zip(&import.target).take_while(|(a, b)| a == b).count();
        if common == from.len() || common == import.target.len() {
            continue; // the same module, or an ancestor and its descendant
        }
        let parent = from[..common].to_vec();
        graphs
            .entry(parent)
            .or_default()
            .entry(from[common].clone())
            .or_default()
            .entry(import.target[common].clone())
            .or_default()
            .push(format!("{}: {}", shown(&import.file), import.path));
    }
    let mut found = Vec::new();
    for (parent, edges) in &graphs {
        for cycle in strongly_connected(edges) {
            let mut why = Vec::new();
            for a in &cycle {
                for (b, via) in edges.get(a).into_iter().flatten() {
                    if cycle.contains(b) {
                        why.extend(via.iter().cloned());
                    }
                }
            }
            why.sort();
            why.dedup();
            let place = if parent.is_empty() {
                "crate".to_owned()
            } else {
                parent.join("::")
            };
            found.push(format!(
                "cycle among the modules of `{place}`: {}\n    {}",
                cycle.iter().cloned().collect::<Vec<_>>().join(" ⇄ "),
                why.join("\n    ")
            ));
        }
    }
    found
}

/// The graph's strongly connected components of more than one node
/// (Tarjan's algorithm; the graphs have a dozen nodes).
fn strongly_connected(edges: &BTreeMap<String, BTreeMap<String, Vec<String>>>) -> Vec<BTreeSet<String>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, Vec<String>>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flat_map(|m| m.keys()) {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.insert(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

#[test]
fn every_import_points_down_the_layers() {
    let (files, imports) = imports();
    assert!(imports.len() > 200, "the scan found too few imports: {}", imports.len());
    let breaches = layering_breaches(&files, &imports);
    assert!(
        breaches.is_empty(),
        "imports against the layering:\n{}",
        breaches.join("\n")
    );
}

#[test]
fn no_modules_of_one_parent_import_each_other_in_a_circle() {
    let (files, imports) = imports();
    let found = cycles(&files, &imports);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The checks themselves, on imports made up for the purpose: each rule
/// catches what it is for, so a green run means something.
#[test]
fn the_checks_catch_an_upward_import_and_a_circle() {
    let m = |s: &str| -> Module { s.split("::").filter(|p| !p.is_empty()).map(str::to_owned).collect() };
    let files = vec![
        (PathBuf::from("/x/domain/scope.rs"), m("domain::scope")),
        (PathBuf::from("/x/domain/repo.rs"), m("domain::repo")),
        (PathBuf::from("/x/store/dynamo/mod.rs"), m("store::dynamo")),
        (PathBuf::from("/x/store/mod.rs"), m("store")),
        (PathBuf::from("/x/github/mod.rs"), m("github")),
    ];
    let import = |file: &str, path: &str, target: &str| Import {
        file: PathBuf::from(file),
        path: path.to_owned(),
        target: m(target),
    };
    let up = [import("/x/domain/scope.rs", "crate::error::Error", "error")];
    assert_eq!(layering_breaches(&files, &up).len(), 1, "domain → error");
    let sideways = [import("/x/github/mod.rs", "crate::store::Store", "store")];
    assert_eq!(layering_breaches(&files, &sideways).len(), 1, "github → store");
    let circle = [
        import("/x/domain/scope.rs", "super::repo::valid_repo_name", "domain::repo"),
        import("/x/domain/repo.rs", "super::scope::TokenScope", "domain::scope"),
    ];
    let found = cycles(&files, &circle);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("/x/domain/repo.rs: super::scope::TokenScope"),
        "{}",
        found[0]
    );
    let family = [
        import("/x/store/mod.rs", "dynamo::DynamoStore", "store::dynamo"),
        import("/x/store/dynamo/mod.rs", "super::StoreError", "store"),
    ];
    assert!(cycles(&files, &family).is_empty(), "a port and its adapter");
    let modules: BTreeSet<Module> = files.iter().map(|(_, m)| m.clone()).chain([m("")]).collect();
    let reexports = BTreeMap::from([("App".to_owned(), "app".to_owned())]);
    let path = |p: &str| -> Vec<String> { p.split("::").map(str::to_owned).collect() };
    assert_eq!(
        resolve(&path("super::repo::valid"), &m("domain::scope"), &modules, &reexports),
        Some(m("domain::repo"))
    );
    assert_eq!(
        resolve(&path("crate::App"), &m("service"), &modules, &reexports),
        Some(m("app"))
    );
    assert_eq!(
        resolve(&path("std::sync::Arc"), &m("service"), &modules, &reexports),
        None
    );
}
