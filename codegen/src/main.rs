//! `cargo run -p quarry-codegen`: rewrites the generated files in `driver/src/`
//! from the data in `codegen/data/`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let root = quarry_codegen::workspace_root();
    for target in quarry_codegen::TARGETS {
        let text = match target.render(&root) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let path = root.join(target.output);
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == text);
        if unchanged {
            println!("unchanged {}", target.output);
            continue;
        }
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote     {} (from {})", target.output, target.input);
    }
    ExitCode::SUCCESS
}
