fn main() -> std::process::ExitCode {
    dockfix_cli::main()
}
