//! `cargo pgprepare`: writes and checks the offline query cache in `.pgprepare/`.

fn main() {
    eprintln!("cargo pgprepare: not implemented yet");
    std::process::exit(2);
}
