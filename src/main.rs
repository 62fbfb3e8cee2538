fn main() {
    std::process::exit(celltwin::cli::main());
}
