//! Finding case files: every `*.toml` below a folder. Shared with the build script, which
//! compiles the same files into the binary.

use std::path::{Path, PathBuf};

/// Appends every `*.toml` below `dir`, at any depth, to `out`, in the order the folder lists them.
pub fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}
