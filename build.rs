//! Links the C runtime's unwinder and, when the built-in recognizer (whisper.cpp, C++)
//! is compiled in, the C++ standard library statically on Linux.
//!
//! Why: every astra run starts by exec'ing the binary, and most runs have nothing
//! to do. Each shared library costs every start its own open, mappings, relocations
//! and symbol lookups. With `libstdc++.so.6` linked dynamically the loader resolved
//! its ~4,300 symbol relocations on every start (callgrind: about half the
//! instructions of a nothing-to-do run), although only a run that transcribes ever
//! calls into it; `libgcc_s.so.1` (the unwinder Rust's standard library asks for, for
//! backtraces) is another library mapped on every start for a code path a run never
//! takes. Linked statically, the parts that are used are bound at link time.
//!
//! How: Rust's standard library asks for `-lgcc_s` and `whisper-rs-sys`'s build
//! script for `-lstdc++`, unconditionally. GNU ld and lld look for `libNAME.so` and
//! then `libNAME.a` in each search directory in turn, so a directory searched before
//! the system ones, holding only `libstdc++.a` and, as `libgcc_s.a`, GCC's static
//! unwinder `libgcc_eh.a`, makes those same flags the static archives. This is what
//! `-static-libgcc -static-libstdc++` do for a C++ program.
//!
//! `ASTRA_DYNAMIC_LIBSTDCXX=1` keeps both shared (a distribution that wants its own
//! runtime updates to reach astra; the two go together, so that one unwinder handles
//! whisper.cpp's exceptions). macOS links libc++ and libunwind from the dyld shared
//! cache, which cost nothing to bind; it is left alone.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ASTRA_DYNAMIC_LIBSTDCXX");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=CXX");
    let whisper = env::var_os("CARGO_FEATURE_WHISPER").is_some();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let opted_out = env::var("ASTRA_DYNAMIC_LIBSTDCXX").is_ok_and(|v| !v.is_empty() && v != "0");
    if os != "linux" || target_env != "gnu" || opted_out {
        return;
    }
    let dir =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("static-runtime");
    let mut linked = false;
    // (what the flag names, the archive that stands in for it, the compiler that knows it)
    let mut wanted = vec![(
        "libgcc_s.a",
        "libgcc_eh.a",
        env::var("CC").unwrap_or_else(|_| "cc".into()),
    )];
    if whisper {
        wanted.push((
            "libstdc++.a",
            "libstdc++.a",
            env::var("CXX").unwrap_or_else(|_| "c++".into()),
        ));
    }
    for (name, archive, compiler) in wanted {
        let Some(found) = compiler_archive(&compiler, archive) else {
            println!(
                "cargo:warning={name} stays shared: {compiler} knows no {archive} \
                 (install the compiler's development files, e.g. apt-get install g++)"
            );
            continue;
        };
        match link_into(&found, &dir, name) {
            Ok(()) => linked = true,
            Err(e) => println!(
                "cargo:warning={name} stays shared: cannot prepare {}: {e}",
                dir.display()
            ),
        }
    }
    if linked {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
}

/// The compiler's own `archive`, as `cc -print-file-name` reports it: an absolute
/// path when it exists, the bare name when it does not.
fn compiler_archive(compiler: &str, archive: &str) -> Option<PathBuf> {
    let out = Command::new(compiler)
        .arg(format!("-print-file-name={archive}"))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    (path.is_absolute() && path.is_file()).then_some(path)
}

/// `dir/name` → `archive`.
fn link_into(archive: &Path, dir: &Path, name: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let link = dir.join(name);
    match std::fs::remove_file(&link) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::os::unix::fs::symlink(archive, link)
}
