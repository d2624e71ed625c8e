//! Embeds the git commit in `dockfix --version` when built from a checkout.

fn main() {
    let hash = std::process::Command::new("git")
        .args(["rev-parse", "--short=9", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty());
    let version = env!("CARGO_PKG_VERSION");
    let long = match hash {
        Some(h) => format!("{version} ({h})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=DOCKFIX_VERSION={long}");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
}
