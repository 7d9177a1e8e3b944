//! What every XDP object of this crate needs besides its program: a panic
//! handler and the license the kernel checks GPL-only helpers against.
//! Each object includes this file as a module.

// No code path may panic: the verifier rejects the endless loop below if one
// is reachable, which turns a stray bounds check into a load failure.
#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
