//! The component's allocator: a bump arena in front of the C library's `malloc`.
//!
//! Every call runs in a fresh instance that is thrown away when it answers, so most of what a call
//! allocates never needs to be reused: handing out memory by moving a pointer, and forgetting
//! frees, is enough, and cheaper than `malloc`'s bookkeeping. The arena is bounded; past it (a
//! large backend answer) allocations go to `malloc`, which reuses freed memory as before, so a
//! call's peak is at most the arena's size above what it was. The last block handed out is freed
//! and grown in place, which covers growing buffers (a body read in pieces, a JSON text).
//!
//! The arena sits below Rust's allocator, not in it: `build.rs` has the linker send every call of
//! the C library's allocation functions (`malloc`, `free`, ...) to the `__wrap_` functions here,
//! Rust's (`std`'s `System` calls `malloc`) and the C library's own (its environment, the
//! canonical ABI's `cabi_realloc`) alike. So a block is always freed by the allocator that made
//! it, and the compiler still sees `malloc` at every allocation site and optimises around it as
//! before (a Rust `#[global_allocator]` cost 56 KB of code for that reason).
//!
//! [`Arena`] is plain address arithmetic, tested natively; only the wasm build links it in.

use std::cell::Cell;

/// Bytes of bump-allocated memory per instance: a `list_metrics` call allocates more than 64 KiB
/// (with 64 KiB it was slower than with 256), and 1 MiB did no better than 256 KiB.
pub(crate) const ARENA_BYTES: usize = 256 << 10;
/// `malloc`'s alignment (`max_align_t`).
const MALLOC_ALIGN: usize = 16;
/// Each block is preceded by its size, for `realloc` and `malloc_usable_size`.
const HEADER: usize = size_of::<usize>();

/// A bump arena over `ARENA_BYTES` taken from `take` at the first allocation. Addresses are
/// `usize`; 0 means "none" (null) throughout.
pub(crate) struct Arena {
    /// Where the arena's bytes come from (`malloc`), asked once; 0 if it had none.
    take: fn(usize) -> usize,
    /// Start of the arena; 0 until the first allocation, 1 if `take` failed.
    start: Cell<usize>,
    /// Next free byte.
    next: Cell<usize>,
    /// The last block handed out, which can be freed or grown in place (0: none).
    last: Cell<usize>,
}

// SAFETY: a component instance runs on one thread; natively, tests use their own arenas.
unsafe impl Sync for Arena {}

impl Arena {
    /// An arena that takes its bytes from `take` when first used.
    pub(crate) const fn new(take: fn(usize) -> usize) -> Arena {
        Arena {
            take,
            start: Cell::new(0),
            next: Cell::new(0),
            last: Cell::new(0),
        }
    }

    fn end(&self) -> usize {
        self.start.get() + ARENA_BYTES
    }

    /// Whether `addr` is the arena's (its end included: an empty block may sit there, and no block
    /// of `malloc`'s can start where the arena's own block ends).
    pub(crate) fn contains(&self, addr: usize) -> bool {
        let start = self.start.get();
        start > 1 && (start..=self.end()).contains(&addr)
    }

    /// `size` bytes aligned to `align` (a power of two; raised to [`MALLOC_ALIGN`]), or 0 when they
    /// do not fit.
    pub(crate) fn alloc(&self, size: usize, align: usize) -> usize {
        if self.start.get() == 0 {
            let start = (self.take)(ARENA_BYTES);
            self.start.set(if start == 0 { 1 } else { start });
            self.next.set(start);
        }
        if self.start.get() == 1 {
            return 0;
        }
        let align = align.max(MALLOC_ALIGN);
        let Some(at) = self.next.get().checked_add(HEADER + align - 1) else {
            return 0;
        };
        let at = at & !(align - 1);
        match at.checked_add(size) {
            Some(end) if end <= self.end() => {
                self.set_size(at, size);
                self.next.set(end);
                self.last.set(at);
                at
            }
            _ => 0,
        }
    }

    /// The size recorded for `addr`, a block of the arena.
    pub(crate) fn size_of(&self, addr: usize) -> usize {
        // SAFETY: every arena block is preceded by its header.
        unsafe { ((addr - HEADER) as *const usize).read_unaligned() }
    }

    /// Records `size` in the header of `addr`, a block of the arena (whose header lies in it too).
    fn set_size(&self, addr: usize, size: usize) {
        // SAFETY: `addr - HEADER .. addr` is in the arena, which nothing else uses.
        unsafe { ((addr - HEADER) as *mut usize).write_unaligned(size) };
    }

    /// Frees `addr`, a block of the arena: only the last one gives its bytes back.
    pub(crate) fn free(&self, addr: usize) {
        if addr == self.last.get() {
            self.next.set(addr - HEADER);
            self.last.set(0);
        }
    }

    /// Resizes `addr`, a block of the arena, where it is: only the last block can, within the arena.
    pub(crate) fn resize_in_place(&self, addr: usize, size: usize) -> bool {
        let fits =
            addr == self.last.get() && addr.checked_add(size).is_some_and(|end| end <= self.end());
        if fits {
            self.set_size(addr, size);
            self.next.set(addr + size);
        }
        fits
    }
}

/// The C library's allocation functions, wrapped (`build.rs` links their callers here).
#[cfg(target_arch = "wasm32")]
mod wrap {
    use super::{ARENA_BYTES, Arena, MALLOC_ALIGN};

    unsafe extern "C" {
        fn __real_malloc(size: usize) -> *mut u8;
        fn __real_free(ptr: *mut u8);
        fn __real_calloc(count: usize, size: usize) -> *mut u8;
        fn __real_realloc(ptr: *mut u8, size: usize) -> *mut u8;
        fn __real_aligned_alloc(align: usize, size: usize) -> *mut u8;
        fn __real_posix_memalign(out: *mut *mut u8, align: usize, size: usize) -> i32;
        fn __real_malloc_usable_size(ptr: *mut u8) -> usize;
    }

    fn take(bytes: usize) -> usize {
        debug_assert_eq!(bytes, ARENA_BYTES);
        // SAFETY: plain `malloc`.
        unsafe { __real_malloc(bytes) as usize }
    }

    static ARENA: Arena = Arena::new(take);

    /// `malloc`: the arena, else the C library's.
    ///
    /// # Safety
    /// The C contract of `malloc`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __wrap_malloc(size: usize) -> *mut u8 {
        match ARENA.alloc(size, MALLOC_ALIGN) {
            // SAFETY: passed on.
            0 => unsafe { __real_malloc(size) },
            at => at as *mut u8,
        }
    }

    /// `free`: a block of the arena is forgotten (or, if last, given back); others go to the C
    /// library.
    ///
    /// # Safety
    /// The C contract of `free`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __wrap_free(ptr: *mut u8) {
        if ARENA.contains(ptr as usize) {
            ARENA.free(ptr as usize);
        } else if !ptr.is_null() {
            // SAFETY: not the arena's, so the C library's.
            unsafe { __real_free(ptr) }
        }
    }

    /// `calloc`: arena memory may have been used and given back, so it is zeroed here.
    ///
    /// # Safety
    /// The C contract of `calloc`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __wrap_calloc(count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return core::ptr::null_mut();
        };
        match ARENA.alloc(total, MALLOC_ALIGN) {
            // SAFETY: passed on.
            0 => unsafe { __real_calloc(count, size) },
            at => {
                let p = at as *mut u8;
                // SAFETY: `p` has `total` bytes.
                unsafe { p.write_bytes(0, total) };
                p
            }
        }
    }

    /// `realloc`: the arena's last block grows in place; other arena blocks move.
    ///
    /// # Safety
    /// The C contract of `realloc`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __wrap_realloc(ptr: *mut u8, size: usize) -> *mut u8 {
        let at = ptr as usize;
        if !ARENA.contains(at) {
            // SAFETY: null or the C library's block.
            return unsafe { __real_realloc(ptr, size) };
        }
        if ARENA.resize_in_place(at, size) {
            return ptr;
        }
        let old = ARENA.size_of(at);
        // SAFETY: a fresh block of `size` bytes; `ptr` is readable for `old`.
        unsafe {
            let new = __wrap_malloc(size);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, old.min(size));
                ARENA.free(at);
            }
            new
        }
    }

    /// `aligned_alloc`.
    ///
    /// # Safety
    /// The C contract of `aligned_alloc`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __wrap_aligned_alloc(align: usize, size: usize) -> *mut u8 {
        let at = if align.is_power_of_two() {
            ARENA.alloc(size, align)
        } else {
            0
        };
        match at {
            // SAFETY: passed on (an invalid alignment is the C library's to refuse).
            0 => unsafe { __real_aligned_alloc(align, size) },
            at => at as *mut u8,
        }
    }

    /// `posix_memalign`.
    ///
    /// # Safety
    /// The C contract of `posix_memalign`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __wrap_posix_memalign(
        out: *mut *mut u8,
        align: usize,
        size: usize,
    ) -> i32 {
        let at = if align.is_power_of_two() && align >= size_of::<usize>() {
            ARENA.alloc(size, align)
        } else {
            0
        };
        if at == 0 {
            // SAFETY: passed on.
            return unsafe { __real_posix_memalign(out, align, size) };
        }
        // SAFETY: the caller's out-pointer.
        unsafe { out.write(at as *mut u8) };
        0
    }

    /// `malloc_usable_size`.
    ///
    /// # Safety
    /// The C contract of `malloc_usable_size`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __wrap_malloc_usable_size(ptr: *mut u8) -> usize {
        if ARENA.contains(ptr as usize) {
            ARENA.size_of(ptr as usize)
        } else {
            // SAFETY: null or the C library's block.
            unsafe { __real_malloc_usable_size(ptr) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backing memory for test arenas: leaked, 16-byte aligned, like `malloc`'s.
    fn take(bytes: usize) -> usize {
        let chunks = vec![0u128; bytes.div_ceil(16)].leak();
        chunks.as_mut_ptr() as usize
    }

    fn none(_: usize) -> usize {
        0
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_sized() {
        let a = Arena::new(take);
        let mut blocks = Vec::new();
        for (i, (size, align)) in [(1, 16), (24, 16), (0, 16), (100, 64), (7, 4096), (3, 8)]
            .into_iter()
            .enumerate()
        {
            let at = a.alloc(size, align);
            assert_ne!(at, 0, "block {i}");
            assert_eq!(at % align.max(MALLOC_ALIGN), 0, "block {i}");
            assert_eq!(a.size_of(at), size, "block {i}");
            assert!(a.contains(at) && a.contains(at + size), "block {i}");
            // Writing a block must not touch the others' bytes or headers.
            unsafe { (at as *mut u8).write_bytes(i as u8 + 1, size) };
            blocks.push((at, size, i as u8 + 1));
        }
        for &(at, size, fill) in &blocks {
            assert_eq!(a.size_of(at), size);
            let bytes = unsafe { std::slice::from_raw_parts(at as *const u8, size) };
            assert!(bytes.iter().all(|&b| b == fill));
        }
    }

    #[test]
    fn only_the_last_block_is_given_back_or_grown_in_place() {
        let a = Arena::new(take);
        let first = a.alloc(32, 16);
        let second = a.alloc(32, 16);
        assert!(!a.resize_in_place(first, 64), "not the last block");
        assert!(a.resize_in_place(second, 1000));
        assert_eq!(a.size_of(second), 1000);
        a.free(first); // forgotten: its bytes stay taken
        a.free(second); // the last: its bytes come back
        assert_eq!(a.alloc(32, 16), second);
        let third = a.alloc(8, 16);
        assert!(third > second && a.size_of(second) == 32);
    }

    #[test]
    fn a_full_arena_or_none_at_all_says_so_and_owns_nothing_outside() {
        let a = Arena::new(take);
        let first = a.alloc(16, 16);
        assert_eq!(a.alloc(ARENA_BYTES, 16), 0, "does not fit");
        assert_eq!(a.alloc(usize::MAX - 8, 16), 0, "overflow");
        assert!(!a.resize_in_place(first, ARENA_BYTES));
        assert!(!a.contains(first - 2 * ARENA_BYTES) && !a.contains(0));
        // Filled to the last byte, then nothing more, not even an empty block.
        let end = first - MALLOC_ALIGN + ARENA_BYTES; // the first block sits one alignment in
        let at = a.alloc(0, 16);
        let last = a.alloc(end - at - MALLOC_ALIGN, 16);
        assert_eq!(last + a.size_of(last), end);
        assert_eq!(a.alloc(0, 16), 0);

        let empty = Arena::new(none);
        assert_eq!(empty.alloc(8, 16), 0);
        assert!(!empty.contains(8) && !empty.contains(1));
    }
}
