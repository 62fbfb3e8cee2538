//! Validates every WGSL shader with naga when the crate is built, so a broken shader fails the
//! build with naga's message pointing at the line, not a test or a user's first GPU run.
//!
//! The shaders are assembled by the same preprocessor the library uses (`src/gpu/shaders.rs`,
//! included here as a module), so what is validated is exactly what wgpu is given at run time.

#[path = "src/gpu/shaders.rs"]
#[allow(dead_code)]
mod shaders;

fn main() {
    println!("cargo::rerun-if-changed=shaders");
    println!("cargo::rerun-if-changed=src/gpu/shaders.rs");
    for (name, src) in shaders::all() {
        if let Err(message) = shaders::validate(name, &src) {
            // One `cargo::error` per line keeps naga's caret diagnostics readable.
            for line in message.lines() {
                println!("cargo::error={line}");
            }
        }
    }
}
