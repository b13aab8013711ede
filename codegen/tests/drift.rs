//! The generated files in `driver/src/` must be exactly what the generator
//! makes from the checked-in data: nobody edits them by hand, and a change to
//! the data or the generator comes with the regenerated files.

#[test]
fn generated_files_match_the_data() {
    let root = quarry_codegen::workspace_root();
    let mut stale = Vec::new();
    for target in quarry_codegen::TARGETS {
        let expected = target
            .render(&root)
            .unwrap_or_else(|e| panic!("the generator rejects its input: {e}"));
        let path = root.join(target.output);
        let actual = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if actual != expected {
            let line = first_difference(&actual, &expected);
            stale.push(format!(
                "{} differs from what {} generates (first at line {line})",
                target.output, target.input
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nrun: cargo run -p quarry-codegen",
        stale.join("\n")
    );
}

/// The 1-based line where `a` and `b` first differ.
fn first_difference(a: &str, b: &str) -> usize {
    let mut a_lines = a.split_inclusive('\n');
    let mut b_lines = b.split_inclusive('\n');
    let mut line = 1;
    loop {
        match (a_lines.next(), b_lines.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            _ => return line,
        }
    }
}
