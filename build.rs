//! Link arguments of the component: the C library's allocation functions are wrapped by the arena
//! in `src/arena.rs` (each `malloc` call links to `__wrap_malloc`, which may call
//! `__real_malloc`).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        for function in [
            "malloc",
            "free",
            "calloc",
            "realloc",
            "aligned_alloc",
            "posix_memalign",
            "malloc_usable_size",
        ] {
            println!("cargo:rustc-link-arg-cdylib=--wrap={function}");
        }
    }
}
