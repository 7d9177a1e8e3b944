//! What the XDP programs of this crate share: the one bounds-checked
//! packet access helper ([`packet`]), the UDP locator the bench programs
//! use ([`udp`]), and what every object needs besides its program
//! ([`program_runtime!`]). The fast path is the `anycast` binary
//! (`src/main.rs`); the reflector, pass, generator and sink are the lab's
//! and the bench's (`src/bin/`).
#![no_std]

pub mod packet;
pub mod udp;

/// What every XDP object needs besides its program: a panic handler and
/// the license the kernel checks GPL-only helpers against. Each program
/// crate invokes it once at its root.
#[macro_export]
macro_rules! program_runtime {
    () => {
        // No code path may panic: the verifier rejects the endless loop
        // below if one is reachable, which turns a stray bounds check into
        // a load failure.
        #[cfg(not(test))]
        #[panic_handler]
        fn panic(_info: &core::panic::PanicInfo) -> ! {
            loop {}
        }

        #[unsafe(link_section = "license")]
        #[unsafe(no_mangle)]
        static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
    };
}
