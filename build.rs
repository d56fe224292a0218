//! Links the C++ standard library statically on Linux when the built-in recognizer
//! (whisper.cpp, C++) is compiled in.
//!
//! Why: every astra run starts by exec'ing the binary, and most runs have nothing
//! to do. With `libstdc++.so.6` linked dynamically the loader resolves its ~4,300
//! symbol relocations on every start (callgrind: about half the instructions of a
//! nothing-to-do run), although only a run that transcribes ever calls into it.
//! Linked statically, the few parts of libstdc++ whisper.cpp uses are bound at
//! link time.
//!
//! How: `whisper-rs-sys`'s build script asks for `-lstdc++` unconditionally. GNU ld
//! looks for `libstdc++.so` and then `libstdc++.a` in each search directory in
//! turn, so a directory holding only `libstdc++.a`, searched before the system
//! ones, makes that same `-lstdc++` the static archive.
//!
//! `ASTRA_DYNAMIC_LIBSTDCXX=1` keeps the dynamic link (a distribution that wants
//! its own libstdc++ updates to reach astra). macOS links libc++, which lives in
//! the dyld shared cache and costs nothing to bind; it is left alone.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ASTRA_DYNAMIC_LIBSTDCXX");
    println!("cargo:rerun-if-env-changed=CXX");
    let whisper = env::var_os("CARGO_FEATURE_WHISPER").is_some();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let opted_out = env::var("ASTRA_DYNAMIC_LIBSTDCXX").is_ok_and(|v| !v.is_empty() && v != "0");
    if !whisper || os != "linux" || target_env != "gnu" || opted_out {
        return;
    }
    match static_libstdcxx() {
        Some(archive) => {
            let dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
                .join("static-libstdcxx");
            if let Err(e) = link_into(&archive, &dir) {
                println!(
                    "cargo:warning=libstdc++ stays dynamic: cannot prepare {}: {e}",
                    dir.display()
                );
                return;
            }
            println!("cargo:rustc-link-search=native={}", dir.display());
        }
        None => println!(
            "cargo:warning=libstdc++ stays dynamic: the C++ compiler knows no libstdc++.a \
             (install the libstdc++ development package, e.g. apt-get install g++)"
        ),
    }
}

/// The compiler's own `libstdc++.a`, as `c++ -print-file-name` reports it: an
/// absolute path when it exists, the bare name when it does not.
fn static_libstdcxx() -> Option<PathBuf> {
    let cxx = env::var("CXX").unwrap_or_else(|_| "c++".to_string());
    let out = Command::new(&cxx)
        .arg("-print-file-name=libstdc++.a")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    (path.is_absolute() && path.is_file()).then_some(path)
}

/// `dir/libstdc++.a` → `archive`, and nothing else in `dir`.
fn link_into(archive: &Path, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let link = dir.join("libstdc++.a");
    match std::fs::remove_file(&link) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    #[cfg(unix)]
    return std::os::unix::fs::symlink(archive, link);
    #[cfg(not(unix))]
    return std::fs::copy(archive, link).map(|_| ());
}
