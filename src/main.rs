/// dockfix allocates many small strings and vectors per file (words of RUN
/// scripts, findings, edits); mimalloc runs the whole pipeline about a
/// quarter faster than the system allocator (`cargo bench --bench pipeline`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dockfix_cli::main()
}
