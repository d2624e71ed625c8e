//! A small program for dockfix's end-to-end test: it reads a file of its
//! sources at run time, an environment variable and its arguments, and
//! tells which user it runs as.

fn main() {
    let greeting = std::fs::read_to_string("config/greeting.txt").unwrap_or_else(|e| format!("<no config: {e}>"));
    let name = std::env::var("GREETING_NAME").unwrap_or_else(|_| "<unset>".into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string()))
        .unwrap_or_else(|| "?".into());
    let mut line = format!("{}, {name}!", greeting.trim());
    if args.iter().any(|a| a == "--shout") {
        line = line.to_uppercase();
    }
    println!("{line} uid={uid} cwd={}", std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default());
}
